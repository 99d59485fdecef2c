"""referral-service: court and arbitration referrals in, mediation outcomes back out."""

from __future__ import annotations

from flask import Flask, current_app
from flask_smorest import Api

from referral_service import crypto, db
from referral_service.config import Settings, load_settings
from referral_service.errors import register_error_handlers
from referral_service.logs import configure_logging, init_request_logging
from referral_service.openapi import init_api
from referral_service.sources import SourceRegistry


def create_app(settings: Settings | None = None) -> Flask:
    """The app factory: validated settings in, a ready Flask app out."""
    settings = settings or load_settings()
    configure_logging(settings.log["format"], settings.log["level"])
    crypto.configure(crypto.Keyring(settings.secrets.data_keys, settings.secrets.search_key))

    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=settings.secrets.secret_key,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.server["secure_cookies"],
        JSON_AS_ASCII=False,
        API_TITLE="referral-service",
        API_VERSION="v1",
        OPENAPI_VERSION="3.1.0",
        OPENAPI_URL_PREFIX="/api",
        OPENAPI_JSON_PATH="v1/openapi.json",
    )
    app.json.ensure_ascii = False
    app.extensions["settings"] = settings
    app.extensions["sources"] = settings.sources
    db.init_app(app, settings.database_url)

    api = init_api(app)
    register_error_handlers(app)
    init_request_logging(app)
    _register_blueprints(api)
    _init_staff_pages(app)
    return app


def _register_blueprints(api: Api) -> None:
    # Imported here: the blueprints use this package's accessors (settings(), sources()).
    from referral_service.cases.routes import blp as cases
    from referral_service.dashboard.api import blp as sync_status
    from referral_service.delivery.routes import blp as delivery
    from referral_service.health import blp as health
    from referral_service.intake.routes import blp as intake

    for blueprint in (health, intake, cases, delivery, sync_status):
        api.register_blueprint(blueprint)


def _init_staff_pages(app: Flask) -> None:
    from referral_service import dashboard, metrics

    dashboard.init_app(app)
    metrics.init_app(app)


def settings() -> Settings:
    """The current app's settings."""
    return current_app.extensions["settings"]


def sources() -> SourceRegistry:
    """The current app's source registry."""
    return current_app.extensions["sources"]
