"""Staff pages under `/dashboard` (sign-in required), plus the language switch.

Every `/dashboard` request needs a signed-in user (viewer at least) and, for forms, a
valid CSRF token. CSRF is checked on the cookie-authenticated blueprints only (sign-in
and dashboard): the JSON API and the intake endpoint authenticate every request with a
bearer token or a signature, which a foreign page cannot forge.
"""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, Flask, current_app, render_template
from flask_babel import Babel
from flask_wtf import CSRFProtect
from werkzeug.exceptions import HTTPException

from referral_service.auth import login
from referral_service.auth.login import require_staff
from referral_service.dashboard import cases, i18n, inbound, overview, reports, templating

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard")
for child in (overview.bp, inbound.bp, reports.bp, cases.bp):
    bp.register_blueprint(child)


def _check_csrf() -> None:
    if current_app.config["WTF_CSRF_ENABLED"]:
        current_app.extensions["csrf"].protect()


@bp.before_request
def _signed_in() -> None:
    require_staff("viewer")
    _check_csrf()


login.bp.before_request(_check_csrf)


@bp.errorhandler(HTTPException)
@login.bp.errorhandler(HTTPException)
def _error_page(exc: HTTPException):
    return render_template("error.html", error=exc), exc.code


def init_app(app: Flask) -> None:
    """Sign-in, CSRF, translations and the staff pages."""
    app.config.update(
        WTF_CSRF_CHECK_DEFAULT=False,  # checked by the blueprints above
        WTF_CSRF_TIME_LIMIT=None,  # valid for the session's lifetime
        BABEL_DEFAULT_LOCALE=i18n.DEFAULT_LANGUAGE,
        BABEL_DEFAULT_TIMEZONE="Asia/Shanghai",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=12),
    )
    CSRFProtect(app)
    Babel(app, locale_selector=i18n.select_locale)
    templating.init_app(app)
    app.register_blueprint(login.bp)
    app.register_blueprint(i18n.bp)
    app.register_blueprint(bp)
