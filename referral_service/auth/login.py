"""Staff sign-in for the dashboard: a session cookie (HttpOnly, SameSite=Lax), CSRF on
every form, and a lock-out after repeated failures.

`/login` and `/logout` live here; `staff_required(role)` protects dashboard views with
the same roles as the API (viewer reads, operator acts, admin sees raw data).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from functools import wraps
from typing import Any

from flask import Blueprint, abort, g, redirect, render_template, request, session, url_for
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from referral_service import db
from referral_service.auth.accounts import check_password, role_allows
from referral_service.models import User, utcnow

MAX_FAILURES = 5
LOCK_DURATION = timedelta(minutes=15)
# Checked against when the user is unknown, so both answers take the same time.
_DUMMY_HASH = "scrypt:32768:8:1$Jb3Tf2R0Ew5aIhlt$" + "0" * 128

bp = Blueprint("login", __name__)


class LoginForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=100)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])


class LoginRefused(Exception):
    """Sign-in refused: `locked_until` is set when the account is locked."""

    def __init__(self, locked_until: datetime | None = None):
        super().__init__("locked" if locked_until else "invalid name or password")
        self.locked_until = locked_until


def authenticate(db_session: Session, name: str, password: str) -> User:
    """The user for a correct name and password; raise LoginRefused otherwise.

    The fifth failure in a row locks the account for 15 minutes; while locked, even the
    right password is refused. Success resets the count. The caller commits.
    """
    now = utcnow()
    user = db_session.scalar(select(User).where(User.name == name))
    if user is None or not user.active or not user.password_hash:
        check_password_hash(_DUMMY_HASH, password)
        raise LoginRefused()
    if user.locked_until and user.locked_until > now:
        raise LoginRefused(user.locked_until)
    if not check_password(user, password):
        user.failed_logins += 1
        if user.failed_logins >= MAX_FAILURES:
            user.failed_logins, user.locked_until = 0, now + LOCK_DURATION
            raise LoginRefused(user.locked_until)
        raise LoginRefused()
    user.failed_logins, user.locked_until = 0, None
    return user


def staff_user() -> User | None:
    """The signed-in, still active user of this browser session, if any."""
    user_id = session.get("user_id")
    if user_id is None:
        return None
    user = db.session().get(User, user_id)
    if user is None or not user.active or not user.password_hash:
        session.clear()
        return None
    return user


def staff_required(role: str = "viewer") -> Callable:
    """Protect a dashboard view: sign-in page when signed out, 403 when the role is too weak."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any):
            require_staff(role)
            return view(*args, **kwargs)

        return wrapped

    return decorator


def require_staff(role: str = "viewer") -> None:
    """Set `g.user` from the session; redirect to `/login` or abort 403 otherwise."""
    user = staff_user()
    if user is None:
        abort(redirect(url_for("login.login", next=request.full_path.rstrip("?"))))
    g.user = user
    if not role_allows(user.role, role):
        abort(403)


def safe_next(target: str | None) -> str:
    """`target` when it is a path on this site, else the overview: never an open redirect.

    Browsers read `/\\host` as `//host` and drop tabs and newlines (`/<tab>/host` is
    `//host` too), so a backslash or any control character sends to the overview.
    """
    if (
        target
        and target.startswith("/")
        and not target.startswith("//")
        and "\\" not in target
        and target.isprintable()
    ):
        return target
    return url_for("dashboard.overview.index")


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Sign in with name and password."""
    form = LoginForm()
    error = None
    if form.validate_on_submit():
        try:
            user = authenticate(db.session(), form.name.data.strip(), form.password.data)
        except LoginRefused as refused:
            db.session().commit()
            error = refused
        else:
            db.session().commit()
            lang = session.get("lang")
            session.clear()  # a fresh session: no fixation
            session.permanent = True
            session.update(user_id=user.id, **({"lang": lang} if lang else {}))
            return redirect(safe_next(request.args.get("next")))
    status = 401 if error else 200
    return render_template("login.html", form=form, error=error), status


@bp.post("/logout")
def logout():
    """Sign out and forget the session."""
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    return redirect(url_for("login.login"))
