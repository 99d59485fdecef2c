"""Staff authentication: bearer tokens for the API, roles viewer < operator < admin."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import g, request

from referral_service import db
from referral_service.auth.accounts import ROLES, role_allows, user_for_token
from referral_service.errors import ProblemError
from referral_service.models import User

__all__ = ["ROLES", "current_user", "is_admin", "require_role"]


def _bearer_user() -> User | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    session = db.session()
    user = user_for_token(session, token.strip())
    if session.dirty:
        session.commit()  # keep last_used_at
    return user


def current_user() -> User | None:
    """The authenticated user of this request, if any."""
    return g.get("user")


def is_admin() -> bool:
    """True when the current user may see raw bodies and unmasked personal data."""
    user = current_user()
    return user is not None and user.role == "admin"


def require_role(role: str) -> Callable:
    """Protect an API view: 401 without a valid token, 403 when the role is too weak."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any):
            user = current_user() or _bearer_user()
            if user is None:
                raise ProblemError(
                    401,
                    "Unauthorized",
                    "A valid bearer token is required.",
                    slug="unauthorized",
                    headers={"WWW-Authenticate": 'Bearer realm="referral-service"'},
                )
            g.user = user
            if not role_allows(user.role, role):
                raise ProblemError(
                    403, "Forbidden", f"This needs the {role} role.", slug="forbidden"
                )
            return view(*args, **kwargs)

        return wrapped

    return decorator
