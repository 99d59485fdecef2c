"""Staff sign-in: session cookie, CSRF, lock-out, roles, languages."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from referral_service import db
from referral_service.models import User, utcnow
from tests.builders import build_user
from tests.staff import PASSWORD, csrf_token, sign_in


def _user(app, role="operator"):
    with app.app_context():
        user, _token = build_user(db.session(), role, password=PASSWORD)
        return user.name


def _login(client, name, password):
    token = csrf_token(client, "/login")
    return client.post("/login", data={"name": name, "password": password, "csrf_token": token})


def test_signed_out_staff_are_sent_to_the_sign_in_page(client):
    response = client.get("/dashboard/reports?status=FAILED")

    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")
    assert "status%3DFAILED" in response.headers["Location"]


def test_signing_in_opens_the_page_asked_for_with_a_safe_cookie(app, client):
    name = _user(app)
    client.get("/login?next=/dashboard/cases")
    token = csrf_token(client, "/login?next=/dashboard/cases")

    response = client.post(
        "/login?next=/dashboard/cases",
        data={"name": name, "password": PASSWORD, "csrf_token": token},
    )

    assert response.status_code == 302
    assert response.headers["Location"] == "/dashboard/cases"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Secure" in cookie  # [server] secure_cookies defaults to on
    assert client.get("/dashboard/cases").status_code == 200


# Each of these takes a browser to another site: `\\` reads as `/`, tabs are dropped.
FOREIGN_TARGETS = ["//evil.example/x", "https://evil.x/", "/\\evil.example", "/\t/evil.example"]


@pytest.mark.parametrize("target", FOREIGN_TARGETS)
def test_next_pointing_elsewhere_is_ignored(app, client, target):
    name = _user(app)
    token = csrf_token(client, "/login")

    response = client.post(
        "/login",
        query_string={"next": target},
        data={"name": name, "password": PASSWORD, "csrf_token": token},
    )

    assert response.headers["Location"] == "/dashboard"


@pytest.mark.parametrize("target", FOREIGN_TARGETS)
def test_the_language_switch_stays_on_this_site(client, target):
    response = client.get("/language/en", query_string={"next": target})

    assert response.headers["Location"] == "/dashboard"


def test_a_wrong_password_is_refused_without_saying_which_part_was_wrong(app, client):
    name = _user(app)

    wrong_password = _login(client, name, "not-the-password")
    unknown_user = _login(client, "nobody", "not-the-password")

    assert wrong_password.status_code == unknown_user.status_code == 401
    assert "用户名或密码错误" in wrong_password.get_data(as_text=True)
    assert "用户名或密码错误" in unknown_user.get_data(as_text=True)
    assert client.get("/dashboard").status_code == 302


def test_five_failures_lock_the_account_even_for_the_right_password(app, client):
    name = _user(app)
    for _ in range(5):
        _login(client, name, "not-the-password")

    response = _login(client, name, PASSWORD)

    assert response.status_code == 401
    assert "已锁定" in response.get_data(as_text=True)
    with app.app_context():
        user = db.session().scalar(select(User).where(User.name == name))
        assert user.locked_until > utcnow() + timedelta(minutes=14)


def test_the_lock_ends_after_fifteen_minutes(app, client):
    name = _user(app)
    for _ in range(5):
        _login(client, name, "not-the-password")
    with app.app_context():
        user = db.session().scalar(select(User).where(User.name == name))
        user.locked_until = utcnow() - timedelta(seconds=1)
        db.session().commit()

    assert _login(client, name, PASSWORD).status_code == 302


def test_a_form_without_its_csrf_token_is_refused(app, client):
    name = _user(app)

    response = client.post("/login", data={"name": name, "password": PASSWORD})

    assert response.status_code == 400
    assert client.get("/dashboard").status_code == 302


def test_signing_out_ends_the_session(app, client):
    sign_in(app, client)
    token = csrf_token(client, "/dashboard")

    client.post("/logout", data={"csrf_token": token})

    assert client.get("/dashboard").status_code == 302


def test_a_deactivated_user_loses_the_open_session(app, client):
    name = sign_in(app, client)
    with app.app_context():
        db.session().scalar(select(User).where(User.name == name)).active = False
        db.session().commit()

    assert client.get("/dashboard").status_code == 302


def test_the_json_api_needs_no_csrf_token(app, client, auth):
    headers = auth("operator")

    response = client.post("/api/v1/reports/unknown/requeue", headers=headers)

    assert response.status_code == 404  # reached the view: no CSRF refusal
    assert response.mimetype == "application/problem+json"


def test_pages_are_in_chinese_unless_english_is_asked_for(app, client):
    assert "登录" in client.get("/login").get_data(as_text=True)
    english = client.get("/login", headers={"Accept-Language": "en-US,en;q=0.9"})
    assert "Sign in" in english.get_data(as_text=True)


def test_the_language_switch_is_remembered(app, client):
    sign_in(app, client)

    response = client.get("/language/en?next=/dashboard")

    assert response.headers["Location"] == "/dashboard"
    assert "Overview" in client.get("/dashboard").get_data(as_text=True)
    client.get("/language/zh")
    assert "总览" in client.get("/dashboard").get_data(as_text=True)
