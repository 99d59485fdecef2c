"""The database: one engine per app, one session per app context.

`session()` gives the current context's session; it is closed (and any uncommitted
work rolled back) when the request or job ends.
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask, current_app, g
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from referral_service.config import PROJECT_ROOT


def _absolute_sqlite(url: str) -> str:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return url
    path = Path(parsed.database)
    if not path.is_absolute():
        path = PROJECT_ROOT / path
    path.parent.mkdir(parents=True, exist_ok=True)
    return parsed.set(database=str(path)).render_as_string(hide_password=False)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def make_engine(url: str) -> Engine:
    """An engine for `url`: WAL and foreign keys on SQLite, pre-ping on PostgreSQL."""
    url = _absolute_sqlite(url)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 10})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)


class Database:
    """Holds the engine and session factory of one app."""

    def __init__(self, url: str):
        self.engine = make_engine(url)
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        """`sqlite` or `postgresql`."""
        return self.engine.dialect.name

    def ping(self) -> None:
        """Run `SELECT 1`; raises if the database is unreachable."""
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))


def init_app(app: Flask, url: str) -> Database:
    """Attach a Database to `app` and close each context's session at teardown."""
    database = Database(url)
    app.extensions["db"] = database
    app.teardown_appcontext(_close_session)
    return database


def database() -> Database:
    """The current app's Database."""
    return current_app.extensions["db"]


def session() -> Session:
    """The session of the current app context, created on first use."""
    if "db_session" not in g:
        g.db_session = database().sessionmaker()
    return g.db_session


_INSERTS = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


def upsert_insert(db_session: Session, model: type):
    """An INSERT for `model` in the session's dialect, with `on_conflict_do_*` available."""
    return _INSERTS[db_session.get_bind().dialect.name](model)


def _close_session(_exc: BaseException | None) -> None:
    db_session = g.pop("db_session", None)
    if db_session is not None:
        db_session.close()
