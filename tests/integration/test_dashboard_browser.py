"""The dashboard in real headless Chromium (Debian's `/usr/bin/chromium`, never a download),
served by a real server thread. SQLite only: the pages' queries are covered on both
databases by the other dashboard tests."""

from __future__ import annotations

import os
import re
import threading

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright
from werkzeug.serving import make_server

from referral_service import create_app, db
from tests import chromium
from tests.builders import build_attempt, build_case, build_report, build_user
from tests.delivery_support import Receiver, deliver_until_idle, point_sources, stop_delivery
from tests.staff import PASSWORD

pytestmark = [
    pytest.mark.browser,
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]


@pytest.fixture(scope="module")
def browser() -> Browser:
    if not chromium.CHROMIUM.exists():
        message = "Debian chromium is not installed (apt-get install chromium)"
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    with sync_playwright() as playwright:
        browser = chromium.launch(playwright)
        yield browser
        browser.close()


@pytest.fixture
def receiver(settings):
    with Receiver(settings) as receiver:
        yield receiver


@pytest.fixture
def live(settings, receiver):
    """`(app, base_url)`: the app, its sources aimed at the receiver, on a real server."""
    app = create_app(point_sources(settings, receiver))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield app, f"http://127.0.0.1:{server.port}"
    server.shutdown()
    stop_delivery(app)
    app.extensions["db"].engine.dispose()


@pytest.fixture
def page(browser: Browser) -> Page:
    context = browser.new_context(locale="zh-CN", viewport={"width": 1400, "height": 900})
    yield context.new_page()
    context.close()


def _failed_report(app) -> str:
    with app.app_context():
        s = db.session()
        report = build_report(
            s, build_case(s, status="SETTLED"), status="FAILED", last_error="HTTP 503"
        )
        build_attempt(s, report, result="failed", http_status=503, error="HTTP 503")
        return report.id


def _sign_in(app, page: Page, base: str, role: str) -> None:
    with app.app_context():
        user, _token = build_user(db.session(), role, password=PASSWORD)
    page.goto(f"{base}/dashboard")
    expect(page).to_have_url(re.compile(r"/login"))
    page.fill("input[name=name]", user.name)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{base}/dashboard")


def test_an_operator_requeues_a_failed_report_and_sees_it_delivered(live, page, receiver):
    app, base = live
    report_id = _failed_report(app)
    _sign_in(app, page, base, "operator")
    expect(page.locator("h1")).to_contain_text("总览")
    court = page.locator("#source-gz-intermediate-court")
    expect(court).to_contain_text("HTTP 503")

    court.get_by_role("link", name="1").last.click()  # the failed count
    expect(page).to_have_url(re.compile(r"status=FAILED"))
    page.get_by_role("link", name=report_id).click()
    expect(page.locator("#attempts")).to_contain_text("HTTP 503")
    page.click("#requeue")
    expect(page.locator(".flash.success")).to_contain_text("报告已重新排队")

    deliver_until_idle(app)
    page.reload()
    expect(page.locator("h1 .badge")).to_have_text("已送达")
    assert receiver.ids()[report_id] == 1


def test_switching_the_language(live, page):
    app, base = live
    _sign_in(app, page, base, "viewer")

    page.get_by_role("link", name="English").click()
    expect(page.locator("h1")).to_contain_text("Overview")
    page.get_by_role("link", name="Reports").click()
    expect(page.locator("h1")).to_have_text("Reports")

    page.get_by_role("link", name="中文").click()
    expect(page.locator("h1")).to_have_text("报告")


def test_a_viewer_has_no_requeue_button_and_is_refused_when_posting(live, page):
    app, base = live
    report_id = _failed_report(app)
    _sign_in(app, page, base, "viewer")

    page.goto(f"{base}/dashboard/reports/{report_id}")
    expect(page.locator("#attempts")).to_be_visible()
    expect(page.locator("#requeue")).to_have_count(0)
    status = page.evaluate(
        """async (url) => {
            const token = document.querySelector("input[name=csrf_token]").value;
            const body = new URLSearchParams({csrf_token: token});
            const response = await fetch(url, {method: "POST", body});
            return response.status;
        }""",
        f"{base}/dashboard/reports/{report_id}/requeue",
    )

    assert status == 403
    page.reload()
    expect(page.locator("h1 .badge")).to_have_text("失败")
