"""The `referral-service` command: users and tokens, as an administrator uses them."""

import pytest
from click.testing import CliRunner

from referral_service import db
from referral_service.cli import cli
from referral_service.models import ApiToken, User
from tests.conftest import TEST_ENV


@pytest.fixture
def cli_env(database_url, monkeypatch):
    for key, value in {**TEST_ENV, "DATABASE_URL": database_url}.items():
        monkeypatch.setenv(key, value)


def test_users_and_tokens_commands(cli_env, app):
    runner = CliRunner()
    result = runner.invoke(
        cli,
        ["users", "create", "alice", "--role", "operator", "--password-stdin"],
        input="correct horse\n",
    )
    assert result.exit_code == 0, result.output
    token = runner.invoke(cli, ["tokens", "create", "alice"]).output.strip()
    assert token.startswith("rs_")

    with app.app_context():
        user = db.session().query(User).filter_by(name="alice").one()
        assert user.role == "operator" and user.password_hash
        stored = db.session().query(ApiToken).one()
        assert stored.token_hash != token and token not in stored.token_hash

    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    from referral_service.auth import require_role

    app.add_url_rule("/_test/op", "op", require_role("operator")(lambda: {"ok": True}))
    assert client.get("/_test/op", headers=headers).status_code == 200

    assert "1 token(s) revoked" in runner.invoke(cli, ["tokens", "revoke", "alice"]).output
    assert client.get("/_test/op", headers=headers).status_code == 401


def test_unknown_role_and_duplicate_user_are_refused(cli_env, app):
    runner = CliRunner()
    assert runner.invoke(cli, ["users", "create", "bob", "--role", "root"]).exit_code == 2
    assert runner.invoke(cli, ["users", "create", "bob", "--role", "viewer"]).exit_code == 0
    again = runner.invoke(cli, ["users", "create", "bob", "--role", "viewer"])
    assert again.exit_code != 0
    with app.app_context():
        assert db.session().query(User).filter_by(name="bob").count() == 1
