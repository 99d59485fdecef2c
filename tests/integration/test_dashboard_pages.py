"""Staff pages: what each role sees, and the fixes an operator makes without a shell."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from referral_service import db
from referral_service.models import CaseEvent, InboundMessage, Report, SourceState, utcnow
from tests.builders import (
    build_attempt,
    build_case,
    build_heartbeat,
    build_inbound,
    build_report,
    build_source_state,
)
from tests.signing import example, signed
from tests.staff import post_form, sign_in


def _text(client, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, path
    return response.get_data(as_text=True)


def _failed_report(app, source_id="gz-intermediate-court"):
    with app.app_context():
        s = db.session()
        report = build_report(s, build_case(s, source_id=source_id), status="FAILED")
        build_attempt(s, report, result="failed", http_status=400, error="HTTP 400")
        return report.id


def _report(app, report_id) -> Report:
    with app.app_context():
        return db.session().get(Report, report_id)


def test_overview_shows_each_source_and_the_worker(app, client):
    with app.app_context():
        s = db.session()
        build_inbound(s, outcome="invalid")
        build_inbound(s, outcome="created")
        build_source_state(
            s, "gz-arbitration", paused=True, paused_by="alice", paused_reason="维护"
        )
        build_heartbeat(s, worker_id="host-a:42")
    _failed_report(app)
    sign_in(app, client, "viewer")

    page = _text(client, "/dashboard")

    assert "广州市中级人民法院" in page and "广州仲裁委员会" in page
    assert "host-a:42" in page
    assert "HTTP 400" in page
    assert "维护" in page
    assert 'http-equiv="refresh"' in page
    assert "/dashboard/reports?source=gz-intermediate-court&amp;status=FAILED" in page
    assert "暂停</button>" not in page and "恢复</button>" not in page  # viewer: no buttons


def test_operators_get_the_pause_and_resume_buttons(app, client):
    build = app.app_context()
    with build:
        build_source_state(db.session(), "gz-arbitration", paused=True, paused_by="alice")
    sign_in(app, client, "operator")

    page = _text(client, "/dashboard")

    assert "暂停</button>" in page and "恢复</button>" in page


def test_an_operator_pauses_and_resumes_a_source(app, client):
    name = sign_in(app, client, "operator")

    post_form(client, "/dashboard", "/dashboard/sources/gz-arbitration/pause", reason="接收方维护")
    with app.app_context():
        state = db.session().get(SourceState, "gz-arbitration")
        assert (state.paused, state.paused_by, state.paused_reason) == (True, name, "接收方维护")

    post_form(client, "/dashboard", "/dashboard/sources/gz-arbitration/resume")
    with app.app_context():
        assert not db.session().get(SourceState, "gz-arbitration").paused


def test_an_operator_requeues_a_failed_report(app, client):
    report_id = _failed_report(app)
    sign_in(app, client, "operator")
    page = _text(client, f"/dashboard/reports/{report_id}")
    assert 'id="requeue"' in page

    response = post_form(
        client, f"/dashboard/reports/{report_id}", f"/dashboard/reports/{report_id}/requeue"
    )

    assert response.status_code == 302
    assert _report(app, report_id).status == "PENDING"
    assert "报告已重新排队" in _text(client, f"/dashboard/reports/{report_id}")


def test_a_viewer_sees_no_requeue_button_and_is_refused_if_posting(app, client):
    report_id = _failed_report(app)
    sign_in(app, client, "viewer")
    page = _text(client, f"/dashboard/reports/{report_id}")
    assert 'id="requeue"' not in page

    response = post_form(
        client, f"/dashboard/reports/{report_id}", f"/dashboard/reports/{report_id}/requeue"
    )

    assert response.status_code == 403
    assert _report(app, report_id).status == "FAILED"


def test_requeue_by_filter_touches_only_the_filtered_source(app, client):
    court = [_failed_report(app), _failed_report(app)]
    arbitration = _failed_report(app, "gz-arbitration")
    sign_in(app, client, "operator")

    post_form(
        client,
        "/dashboard/reports",
        "/dashboard/reports/requeue?source=gz-intermediate-court&status=FAILED",
    )

    assert [_report(app, r).status for r in court] == ["PENDING", "PENDING"]
    assert _report(app, arbitration).status == "FAILED"


def test_a_waiting_report_says_why(app, client):
    with app.app_context():
        s = db.session()
        case = build_case(s)
        first = build_report(s, case, status="FAILED")
        second = build_report(s, case, next_attempt_at=utcnow() + timedelta(hours=1))
        build_source_state(s, case.source_id, paused=True, paused_by="alice", paused_reason="维护")
        first_id, second_id = first.id, second.id
    sign_in(app, client, "viewer")

    page = _text(client, f"/dashboard/reports/{second_id}")

    assert "第 1 份报告尚未送达" in page
    assert f"/dashboard/reports/{first_id}" in page
    assert "已被 alice 暂停" in page
    assert "下次尝试时间为" in page


NON_ADMINS = pytest.mark.parametrize("role", ["viewer", "operator"])


@NON_ADMINS
def test_report_page_lists_every_attempt(app, client, role):
    with app.app_context():
        s = db.session()
        report = build_report(s, build_case(s), status="FAILED")
        build_attempt(s, report, http_status=503, response_excerpt="upstream busy")
        build_attempt(s, report, http_status=None, error="connection refused", result="failed")
        report_id = report.id
    sign_in(app, client, role)

    page = _text(client, f"/dashboard/reports/{report_id}")

    assert "upstream busy" in page and "connection refused" in page
    assert page.count("42 ms") == 2
    assert "OutcomeReport" not in page  # the body is for admins
    sign_in(app, client, "admin")
    assert "&lt;OutcomeReport/&gt;" in _text(client, f"/dashboard/reports/{report_id}")


@NON_ADMINS
def test_message_page_masks_personal_data_except_for_admins(app, client, role):
    body = example("court-referral.xml")
    with app.app_context():
        message = build_inbound(db.session(), outcome="invalid", body=body)
    sign_in(app, client, role)

    viewer_page = _text(client, f"/dashboard/inbound/{message.id}")

    assert "Referral/Parties/Party[1]/IdNumber" in viewer_page
    assert "440106********1233" in viewer_page
    assert "440106198503151233" not in viewer_page
    assert "13800138000" not in viewer_page
    assert 'id="raw"' not in viewer_page

    sign_in(app, client, "admin")
    admin_page = _text(client, f"/dashboard/inbound/{message.id}")
    assert 'id="raw"' in admin_page
    assert "440106198503151233" in admin_page


def test_inbound_list_filters_by_outcome_and_date(app, client):
    with app.app_context():
        s = db.session()
        build_inbound(s, outcome="invalid", referral_external_id="REFUSED-NOW")
        build_inbound(s, outcome="created", referral_external_id="ACCEPTED-NOW")
        old = utcnow() - timedelta(days=3)
        build_inbound(s, outcome="invalid", referral_external_id="REFUSED-OLD", received_at=old)
    sign_in(app, client, "viewer")
    today = (utcnow() + timedelta(hours=8)).date().isoformat()

    refused = _text(client, "/dashboard/inbound?outcome=refused")
    refused_today = _text(client, f"/dashboard/inbound?outcome=refused&date_from={today}")

    assert "REFUSED-NOW" in refused and "REFUSED-OLD" in refused
    assert "ACCEPTED-NOW" not in refused
    assert "REFUSED-NOW" in refused_today and "REFUSED-OLD" not in refused_today


def _refused_push(app, **overrides) -> str:
    """A valid contract example stored as refused (as if the mapping had been wrong)."""
    body = example("court-referral.xml")
    with app.app_context():
        message = build_inbound(
            db.session(),
            outcome="invalid",
            body=body,
            headers={k.lower(): v for k, v in signed("gz-intermediate-court", body).items()},
            **overrides,
        )
        return message.id


def test_an_operator_replays_a_refused_message_and_keeps_the_link(app, client):
    original = _refused_push(app)
    sign_in(app, client, "operator")

    response = post_form(
        client, f"/dashboard/inbound/{original}", f"/dashboard/inbound/{original}/replay"
    )

    with app.app_context():
        replay = db.session().scalar(
            select(InboundMessage).where(InboundMessage.replay_of_id == original)
        )
        assert replay.outcome == "created"
        assert db.session().get(InboundMessage, original).replay_count == 1
    assert response.headers["Location"] == f"/dashboard/inbound/{replay.id}"
    again = _text(client, f"/dashboard/inbound/{original}")
    assert "该消息已重放 1 次" in again
    assert f"/dashboard/inbound/{replay.id}" in again


def test_replay_by_filter_skips_messages_already_replayed(app, client):
    fresh = _refused_push(app)
    done = _refused_push(app, replay_count=1)
    sign_in(app, client, "operator")

    post_form(client, "/dashboard/inbound", "/dashboard/inbound/replay?outcome=refused")

    with app.app_context():
        replayed = db.session().scalars(
            select(InboundMessage.replay_of_id).where(InboundMessage.replay_of_id.is_not(None))
        )
        assert list(replayed) == [fresh]
        assert db.session().get(InboundMessage, done).replay_count == 1


@pytest.mark.parametrize(
    "query", ["ZH-2026-9", "民诉前调", "刘某"], ids=["our-number", "court-number", "party"]
)
def test_case_search(app, client, query):
    with app.app_context():
        case = build_case(db.session())
        number = case.case_number
    sign_in(app, client, "viewer")

    page = _text(client, f"/dashboard/cases?q={query}")

    assert number in page
    assert "刘某某" not in page  # masked for a viewer
    assert number not in _text(client, "/dashboard/cases?q=nobody-like-this")


@NON_ADMINS
def test_case_page_answers_whether_the_court_got_the_outcome(app, client, role):
    with app.app_context():
        s = db.session()
        case = build_case(s, status="SETTLED")
        report = build_report(s, case, status="FAILED", last_error="HTTP 503", attempt_count=8)
        case_id, report_id = case.id, report.id
    sign_in(app, client, role)

    page = _text(client, f"/dashboard/cases/{case_id}")

    assert "未送达：尝试 8 次后失败" in page
    assert "HTTP 503" in page
    assert f"/dashboard/reports/{report_id}" in page
    assert "刘**" in page and "440106********1233" in page
    assert "440106198503151233" not in page
    assert "某某银行股份有限公司广州分行" in page  # an organisation's name is not personal data

    sign_in(app, client, "admin")
    assert "440106198503151233" in _text(client, f"/dashboard/cases/{case_id}")


def test_case_page_names_codes_in_chinese(app, client):
    with app.app_context():
        s = db.session()
        case = build_case(s, status="DECLINED", reason_code="OUT_OF_SCOPE")
        s.add(CaseEvent(case_id=case.id, kind="deadline_changed", actor="alice", data={}))
        s.commit()
        case_id = case.id
    sign_in(app, client, "viewer")

    page = _text(client, f"/dashboard/cases/{case_id}")

    assert "原告 · 自然人" in page and "被告 · 单位" in page
    assert "PLAINTIFF" not in page and "ORGANIZATION" not in page
    assert "期限已变更" in page and "deadline_changed" not in page
    assert "诉前委派" in page and "PRE_LITIGATION" not in page
    assert "不属于受理范围 (OUT_OF_SCOPE)" in page  # the code staff quote stays beside it

    client.get("/language/en")
    page = _text(client, f"/dashboard/cases/{case_id}")
    assert "plaintiff · person" in page and "deadline changed" in page


def test_every_page_renders_in_english(app, client):
    report_id = _failed_report(app)
    with app.app_context():
        message_id = build_inbound(db.session(), outcome="malformed", body=b"<oops").id
    sign_in(app, client, "admin")
    client.get("/language/en")

    for path in (
        "/dashboard",
        "/dashboard/inbound",
        f"/dashboard/inbound/{message_id}",
        "/dashboard/reports",
        f"/dashboard/reports/{report_id}",
        "/dashboard/cases",
        "/dashboard/cases/1",
        "/dashboard/alerts",
    ):
        page = _text(client, path)
        assert "Sign out" in page, path
