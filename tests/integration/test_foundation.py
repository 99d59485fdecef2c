"""The foundation: probes, problem documents, roles, schema and CLI, on both databases."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask
from sqlalchemy import create_engine

from referral_service import create_app, db
from referral_service.auth import require_role
from referral_service.models import Base
from tests.builders import build_heartbeat
from tests.conftest import make_settings

PROBLEM = "application/problem+json"


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok"}


def test_readyz_reports_database(app, client):
    with app.app_context():
        build_heartbeat(db.session())
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json["database"] == "ok"


def test_readyz_is_503_when_database_is_down():
    app = create_app(make_settings("postgresql+psycopg://nobody@127.0.0.1:1/none"))
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.mimetype == PROBLEM
    assert response.headers["Retry-After"]


def test_unknown_route_is_a_problem_document(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert response.mimetype == PROBLEM
    assert response.json["status"] == 404
    assert response.json["title"] == "Not Found"


def test_wrong_method_is_a_problem_document(client):
    response = client.post("/healthz")
    assert response.status_code == 405
    assert response.mimetype == PROBLEM
    assert "GET" in response.headers["Allow"]


def _add_probe_routes(app: Flask) -> None:
    @app.get("/_test/boom")
    def boom():
        raise RuntimeError("secret internals 440106198503151233")

    for role in ("viewer", "operator", "admin"):
        app.add_url_rule(
            f"/_test/{role}", f"needs_{role}", require_role(role)(lambda: {"ok": True})
        )


def test_unhandled_error_is_a_500_problem_without_internals(app, caplog):
    _add_probe_routes(app)
    response = app.test_client().get("/_test/boom")
    assert response.status_code == 500
    assert response.mimetype == PROBLEM
    assert "secret internals" not in response.get_data(as_text=True)
    assert "Traceback" not in response.get_data(as_text=True)
    assert any("unhandled error" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        ("viewer", {"viewer"}),
        ("operator", {"viewer", "operator"}),
        ("admin", {"viewer", "operator", "admin"}),
    ],
)
def test_each_role_gets_exactly_its_access(app, auth, role, allowed):
    _add_probe_routes(app)
    client = app.test_client()
    headers = auth(role)
    for needed in ("viewer", "operator", "admin"):
        response = client.get(f"/_test/{needed}", headers=headers)
        assert response.status_code == (200 if needed in allowed else 403), needed
        if needed not in allowed:
            assert response.mimetype == PROBLEM


@pytest.mark.parametrize("header", [None, "Bearer nope", "Basic abc", "Bearer "])
def test_missing_or_bad_token_is_401(app, header):
    _add_probe_routes(app)
    headers = {"Authorization": header} if header else {}
    response = app.test_client().get("/_test/viewer", headers=headers)
    assert response.status_code == 401
    assert response.mimetype == PROBLEM
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_revoked_token_is_refused(app, runner, auth):
    _add_probe_routes(app)
    headers = auth("operator")
    client = app.test_client()
    assert client.get("/_test/viewer", headers=headers).status_code == 200
    from referral_service import db
    from referral_service.auth.accounts import revoke_tokens
    from referral_service.models import User

    with app.app_context():
        user = db.session().query(User).one()
        assert revoke_tokens(db.session(), user.name) == 1
        db.session().commit()
    assert client.get("/_test/viewer", headers=headers).status_code == 401


def test_request_id_is_honoured_or_generated(client):
    assert (
        client.get("/healthz", headers={"X-Request-ID": "abc-1"}).headers["X-Request-ID"] == "abc-1"
    )
    assert len(client.get("/healthz").headers["X-Request-ID"]) == 32


def test_migrations_match_the_models(database_url):
    engine = create_engine(database_url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()
    assert diff == []


def test_integrity_error_is_a_500_not_database_unavailable(app):
    from sqlalchemy.exc import IntegrityError

    @app.get("/_test/integrity")
    def integrity():
        raise IntegrityError("INSERT", {}, Exception("duplicate key"))

    response = app.test_client().get("/_test/integrity")
    assert response.status_code == 500
    assert response.mimetype == PROBLEM
    assert "Retry-After" not in response.headers


def test_token_use_is_recorded_at_most_once_a_minute(app, auth):
    from datetime import UTC, datetime, timedelta

    import time_machine

    from referral_service import db
    from referral_service.models import ApiToken

    _add_probe_routes(app)
    headers = auth("viewer")
    client = app.test_client()

    def last_used():
        with app.app_context():
            return db.session().query(ApiToken).one().last_used_at

    start = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
    with time_machine.travel(start, tick=False):
        client.get("/_test/viewer", headers=headers)
    assert last_used() == start
    with time_machine.travel(start + timedelta(seconds=30), tick=False):
        client.get("/_test/viewer", headers=headers)
    assert last_used() == start
    with time_machine.travel(start + timedelta(minutes=2), tick=False):
        client.get("/_test/viewer", headers=headers)
    assert last_used() == start + timedelta(minutes=2)
