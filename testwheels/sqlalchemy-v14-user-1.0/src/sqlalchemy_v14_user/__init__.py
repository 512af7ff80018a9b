"""SQLAlchemy 1.4 API: declarative_base() from sqlalchemy.ext.declarative, the Query API, engine.execute()."""
import sqlalchemy
from sqlalchemy import Column, ForeignKey, Integer, String, create_engine
from sqlalchemy.ext.declarative import declarative_base
from sqlalchemy.orm import relationship, sessionmaker

Base = declarative_base()


class Author(Base):
    __tablename__ = "author"
    id = Column(Integer, primary_key=True)
    name = Column(String(50))
    books = relationship("Book", back_populates="author")


class Book(Base):
    __tablename__ = "book"
    id = Column(Integer, primary_key=True)
    title = Column(String(50))
    author_id = Column(Integer, ForeignKey("author.id"))
    author = relationship("Author", back_populates="books")


def check():
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    session = sessionmaker(bind=engine)()
    session.add(Author(name="v1", books=[Book(title="a"), Book(title="b")]))
    session.commit()
    author = session.query(Author).filter_by(name="v1").one()
    titles = [b.title for b in session.query(Book).join(Book.author).filter(Author.id == author.id).order_by(Book.title)]
    # engine.execute() is gone in 2.0.
    raw = engine.execute(sqlalchemy.text("select count(*) from book")).scalar()
    return {"version": sqlalchemy.__version__, "module": sqlalchemy.__name__, "titles": titles, "count": raw}
