"""pydantic 2.x API: model_config, @field_validator, model_validate(), model_dump()."""
import json

import pydantic
import pydantic_v1_user
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator


class Modern(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True)
    name: str
    count: int = 0

    @field_validator("count")
    @classmethod
    def not_negative(cls, value):
        if value < 0:
            raise ValueError("negative")
        return value


def check():
    model = Modern.model_validate({"name": "  v2  ", "count": "4"})
    try:
        Modern(name="x", count=-1)
        rejected = False
    except ValidationError:
        rejected = True
    return {
        "app": {"version": pydantic.VERSION, "module": pydantic.__name__, "dict": model.model_dump(), "rejected": rejected},
        "library": pydantic_v1_user.check(),
    }


def main():
    print(json.dumps(check(), sort_keys=True))
