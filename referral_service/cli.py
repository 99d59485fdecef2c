"""The `referral-service` command: serve, db, users, tokens (and more as the service grows)."""

from __future__ import annotations

import getpass
import logging
import sys

import click
from flask import Flask

from referral_service import create_app, db, migrate
from referral_service.auth.accounts import ROLES, AccountError, create_token, create_user
from referral_service.auth.accounts import revoke_tokens as revoke_user_tokens
from referral_service.config import ConfigError, load_settings
from referral_service.mapping.check import mapping_group

log = logging.getLogger(__name__)


def _app() -> Flask:
    return create_app(load_settings())


@click.group()
def cli() -> None:
    """Court and arbitration referrals in, mediation outcomes back out."""


@cli.group("db")
def db_group() -> None:
    """Database schema."""


@db_group.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Apply migrations to the configured database."""
    settings = load_settings()
    migrate.upgrade(settings.database_url, revision)
    click.echo(f"database at {revision}")


@db_group.command("revision")
@click.option("-m", "--message", required=True)
@click.option("--rev-id", default=None, help="Revision id (default: random).")
def db_revision(message: str, rev_id: str | None) -> None:
    """Autogenerate a migration from model changes (against the configured database)."""
    migrate.revision(load_settings().database_url, message, rev_id)


@cli.group("users")
def users_group() -> None:
    """Staff users."""


@users_group.command("create")
@click.argument("name")
@click.option("--role", type=click.Choice(ROLES), required=True)
@click.option("--password-stdin", is_flag=True, help="Read the dashboard password from stdin.")
def users_create(name: str, role: str, password_stdin: bool) -> None:
    """Create a staff user; without a password (stdin or prompt) the user is token-only."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    elif sys.stdin.isatty():
        password = getpass.getpass("Password (empty for token-only): ")
    else:
        password = None
    app = _app()
    with app.app_context():
        create_user(db.session(), name, role, password or None)
        db.session().commit()
    click.echo(f"user {name} created with role {role}")


@cli.group("tokens")
def tokens_group() -> None:
    """API bearer tokens."""


@tokens_group.command("create")
@click.argument("name")
def tokens_create(name: str) -> None:
    """Print a new bearer token for user NAME (shown only once)."""
    app = _app()
    with app.app_context():
        token = create_token(db.session(), name)
        db.session().commit()
    click.echo(token)


@tokens_group.command("revoke")
@click.argument("name")
@click.option("--prefix", help="Revoke only the token starting with this prefix.")
def tokens_revoke(name: str, prefix: str | None) -> None:
    """Revoke user NAME's tokens (all, or one by prefix)."""
    app = _app()
    with app.app_context():
        count = revoke_user_tokens(db.session(), name, prefix)
        db.session().commit()
    click.echo(f"{count} token(s) revoked")


@cli.command("serve")
@click.option("--host", default=None, help="Defaults to server.host.")
@click.option("--port", type=int, default=None, help="Defaults to server.port (PORT).")
@click.option("--threads", type=int, default=8, show_default=True)
def serve(host: str | None, port: int | None, threads: int) -> None:
    """Serve the web app in one gunicorn process (threads), the embedded default."""
    from referral_service.server import run_single_process

    settings = load_settings()
    migrate.upgrade(settings.database_url)
    run_single_process(
        settings,
        host or settings.server["host"],
        port or settings.server["port"],
        threads,
    )


@cli.command("worker")
def worker() -> None:
    """Run the scheduled jobs (delivery, deadlines, heartbeat, retention) until stopped."""
    from referral_service.scheduler import run_worker

    run_worker(_app())


cli.add_command(mapping_group)


@cli.group("data")
def data_group() -> None:
    """Data at rest."""


@data_group.command("rekey")
def data_rekey() -> None:
    """Re-encrypt personal data and raw bodies under the first key of REFERRAL_DATA_KEYS."""
    from referral_service import rekey

    app = _app()
    with app.app_context():
        count = rekey.rekey(db.session())
        left = rekey.count_stale(db.session())
    click.echo(f"re-encrypted {count} row(s); {left} left under older keys")


@cli.command("demo")
@click.option("--url", default="http://127.0.0.1:8000", show_default=True, help="The service.")
@click.option("--receiver-port", default=8099, show_default=True, help="Where callbacks land.")
@click.option("--duration", type=float, help="Seconds to keep receiving (default: until Ctrl-C).")
def demo(url: str, receiver_port: int, duration: float | None) -> None:
    """Push demo referrals to a running service, move cases to outcomes, receive callbacks."""
    from referral_service.demo import run_demo

    run_demo(load_settings(), url, receiver_port, duration)


def main() -> None:
    """Console entry point; configuration errors print a clear message, not a traceback."""
    try:
        cli(standalone_mode=True)
    except ConfigError as exc:
        click.echo(f"configuration error: {exc}", err=True)
        sys.exit(2)
    except AccountError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
