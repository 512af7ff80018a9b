"""SQLAlchemy 2 API: DeclarativeBase, Mapped/mapped_column, select(), Session.scalars()."""
import json

import sqlalchemy
import sqlalchemy_v14_user
from sqlalchemy import ForeignKey, String, create_engine, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship


class Base(DeclarativeBase):
    pass


class Author(Base):
    __tablename__ = "author"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50))
    books: Mapped[list["Book"]] = relationship(back_populates="author")


class Book(Base):
    __tablename__ = "book"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(50))
    author_id: Mapped[int] = mapped_column(ForeignKey("author.id"))
    author: Mapped[Author] = relationship(back_populates="books")


def check():
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    with Session(engine) as session:
        session.add(Author(name="v2", books=[Book(title="c"), Book(title="d"), Book(title="e")]))
        session.commit()
        titles = list(session.scalars(select(Book.title).join(Book.author).where(Author.name == "v2").order_by(Book.title)))
        with engine.connect() as conn:
            count = conn.execute(sqlalchemy.text("select count(*) from book")).scalar_one()
    return {
        "app": {"version": sqlalchemy.__version__, "module": sqlalchemy.__name__, "titles": titles, "count": count},
        "library": sqlalchemy_v14_user.check(),
    }


def main():
    print(json.dumps(check(), sort_keys=True))
