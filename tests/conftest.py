"""Fixtures in the style of Flask's tutorial: `app`, `client`, `runner`, plus `db`.

Every test that takes `app` runs twice: on SQLite and on PostgreSQL. PostgreSQL is
`TEST_DATABASE_URL` (default: the local server); each pytest worker gets a database of
its own, migrated once, truncated after each test. With `REQUIRE_POSTGRES=1` (CI) an
unreachable PostgreSQL fails the run instead of skipping.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from referral_service import create_app, db, migrate
from referral_service.config import DEMO_SECRETS, Settings, load_settings
from referral_service.models import Base
from tests.builders import build_user

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"

# Secrets as a deployment would set them (the demo values, set explicitly).
TEST_ENV = dict(DEMO_SECRETS)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked `postgresql_only` run only with the PostgreSQL database parameter."""
    sqlite_only_copies = [
        item
        for item in items
        if item.get_closest_marker("postgresql_only") and "[sqlite" in item.nodeid
    ]
    if sqlite_only_copies:
        config.hook.pytest_deselected(items=sqlite_only_copies)
        items[:] = [item for item in items if item not in sqlite_only_copies]


def _pg_admin_url() -> str:
    return os.environ.get("TEST_DATABASE_URL", DEFAULT_PG)


@pytest.fixture(scope="session")
def postgres_url(worker_id: str) -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for this pytest worker."""
    admin_url = make_url(_pg_admin_url())
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:
        admin.dispose()
        message = f"PostgreSQL unreachable at {admin_url.render_as_string()}: {exc}"
        if os.environ.get("REQUIRE_POSTGRES") == "1":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    name = f"rs_test_{worker_id}_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = admin_url.set(database=name).render_as_string(hide_password=False)
    migrate.upgrade(url)
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    migrate.upgrade(f"sqlite:///{path}")
    return path


def _truncate(url: str) -> None:
    engine = create_engine(url)
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty, migrated database: SQLite, then PostgreSQL."""
    if request.param == "sqlite":
        path = tmp_path / "test.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    url = request.getfixturevalue("postgres_url")
    yield url
    _truncate(url)


def make_settings(database_url: str, **overrides) -> Settings:
    """Settings for tests: the real default.toml, test secrets, the given database."""
    overrides = {"database": {"url": database_url}, **overrides}
    return load_settings(env=TEST_ENV, overrides=overrides)


@pytest.fixture
def settings(database_url: str) -> Settings:
    return make_settings(database_url)


@pytest.fixture
def app(settings: Settings):
    app = create_app(settings)
    app.config.update(TESTING=True)
    yield app
    app.extensions["db"].engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def session(app):
    """A database session inside an app context."""
    with app.app_context():
        yield db.session()


@pytest.fixture
def auth(app):
    """`auth("operator")` -> headers with a bearer token of a new user of that role."""

    def make(role: str = "viewer") -> dict[str, str]:
        with app.app_context():
            _user, token = build_user(db.session(), role)
        return {"Authorization": f"Bearer {token}"}

    return make
