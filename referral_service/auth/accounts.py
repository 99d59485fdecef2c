"""Staff users and API tokens. Passwords are hashed (scrypt); tokens are stored as SHA-256."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from referral_service.models import ApiToken, User, utcnow

ROLES = ("viewer", "operator", "admin")
TOKEN_PREFIX = "rs_"
LAST_USED_RESOLUTION = timedelta(minutes=1)


class AccountError(ValueError):
    """A user or token operation that cannot be done (unknown user, bad role...)."""


def role_allows(role: str, needed: str) -> bool:
    """True when `role` is at least as strong as `needed` (viewer < operator < admin)."""
    return ROLES.index(role) >= ROLES.index(needed)


def create_user(db: Session, name: str, role: str, password: str | None = None) -> User:
    """Add a user; without a password the user can only use API tokens."""
    if role not in ROLES:
        raise AccountError(f"unknown role {role!r}; choose one of {', '.join(ROLES)}")
    if db.scalar(select(User).where(User.name == name)):
        raise AccountError(f"user {name!r} already exists")
    user = User(name=name, role=role)
    if password:
        set_password(user, password)
    db.add(user)
    db.flush()
    return user


def set_password(user: User, password: str) -> None:
    """Hash and store a password (at least 8 characters)."""
    if len(password) < 8:
        raise AccountError("a password needs at least 8 characters")
    user.password_hash = generate_password_hash(password)


def check_password(user: User, password: str) -> bool:
    """Constant-time check of a password against the stored hash."""
    return bool(user.password_hash) and check_password_hash(user.password_hash, password)


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(db: Session, user_name: str) -> str:
    """Issue a new bearer token for a user; the plain token is returned only here."""
    user = db.scalar(select(User).where(User.name == user_name))
    if user is None:
        raise AccountError(f"no user named {user_name!r}")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    db.add(ApiToken(user=user, token_hash=_hash_token(token), prefix=token[:10]))
    db.flush()
    return token


def revoke_tokens(db: Session, user_name: str, prefix: str | None = None) -> int:
    """Revoke a user's active tokens (all, or those starting with `prefix`); return the count."""
    query = select(ApiToken).join(User).where(User.name == user_name, ApiToken.revoked_at.is_(None))
    tokens = [t for t in db.scalars(query) if prefix is None or t.prefix.startswith(prefix[:10])]
    for token in tokens:
        token.revoked_at = utcnow()
    return len(tokens)


def user_for_token(db: Session, token: str) -> User | None:
    """The active user owning an unrevoked token, or None.

    `last_used_at` is refreshed at most once a minute, so reads don't each cost a write.
    """
    row = db.scalar(
        select(ApiToken).where(
            ApiToken.token_hash == _hash_token(token), ApiToken.revoked_at.is_(None)
        )
    )
    if row is None or not row.user.active:
        return None
    now = utcnow()
    if row.last_used_at is None or now - row.last_used_at > LAST_USED_RESOLUTION:
        row.last_used_at = now
    return row.user
