"""Signing staff in to the dashboard from a Flask test client (with the real CSRF check)."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient

from referral_service import db
from tests.builders import build_user

PASSWORD = "correct-horse-battery"
_TOKEN_RE = re.compile(
    r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"'
)


def csrf_token(client: FlaskClient, path: str) -> str:
    """The CSRF token of the first form on the page at `path`."""
    page = client.get(path).get_data(as_text=True)
    match = _TOKEN_RE.search(page)
    assert match, f"no CSRF token on {path}"
    return match.group(1) or match.group(2)


def sign_in(app: Flask, client: FlaskClient, role: str = "viewer") -> str:
    """Create a user of `role` with a password and sign `client` in; returns the name."""
    with app.app_context():
        user, _token = build_user(db.session(), role, password=PASSWORD)
        name = user.name
    token = csrf_token(client, "/login")
    response = client.post("/login", data={"name": name, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302, response.get_data(as_text=True)
    return name


def post_form(client: FlaskClient, page: str, action: str, **data: str):
    """Submit a form of `page` to `action` with the page's CSRF token."""
    return client.post(action, data={"csrf_token": csrf_token(client, page), **data})
