"""pydantic 1.x API: class Config, @validator, parse_obj(), .dict()."""
import pydantic
from pydantic import BaseModel, ValidationError, validator


class Legacy(BaseModel):
    name: str
    count: int = 0

    class Config:
        anystr_strip_whitespace = True

    @validator("count")
    def not_negative(cls, value):
        if value < 0:
            raise ValueError("negative")
        return value


def check():
    model = Legacy.parse_obj({"name": "  v1  ", "count": "3"})
    try:
        Legacy(name="x", count=-1)
        rejected = False
    except ValidationError:
        rejected = True
    return {
        "version": pydantic.VERSION,
        "module": pydantic.__name__,
        "dict": model.dict(),
        "rejected": rejected,
    }
