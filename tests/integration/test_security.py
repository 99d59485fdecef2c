"""Security properties that cut across modules: what reaches the logs, what leaves the site."""

from __future__ import annotations

from referral_service import db
from referral_service.config import PROJECT_ROOT
from tests.builders import build_case


def test_the_production_image_keeps_query_strings_out_of_the_logs():
    # Staff search by a party's name or ID number (`?q=`); the app logs paths only and masks
    # every line, but gunicorn's access log would write the raw query string.
    command = (PROJECT_ROOT / "Dockerfile").read_text(encoding="utf-8")

    assert "gunicorn" in command
    assert "--access-logfile" not in command
    assert "--access-log-format" not in command


def test_free_text_of_a_case_is_masked_for_non_admins(app, client, auth):
    # Clerks write ID and phone numbers into a summary or a reason; only admins see them.
    text = "原告身份证440106198503151233，电话13800138000"
    with app.app_context():
        case_id = build_case(db.session(), summary=text, reason=text, note=text).id

    masked = client.get(f"/api/v1/cases/{case_id}", headers=auth("viewer")).json
    full = client.get(f"/api/v1/cases/{case_id}", headers=auth("admin")).json

    expected = "原告身份证440106********1233，电话138****8000"
    assert (masked["summary"], masked["reason"], masked["note"]) == (expected,) * 3
    assert (full["summary"], full["reason"], full["note"]) == (text,) * 3


def test_pushes_to_made_up_sources_share_one_metrics_label(client):
    # /metrics is open to the scraper; anyone may push, so a label per URL would grow forever.
    for name in ("made-up-1", "made-up-2", "made-up-3"):
        client.post(f"/api/v1/sources/{name}/referrals", data=b"{}")

    metrics = client.get("/metrics").get_data(as_text=True)

    assert "made-up" not in metrics
    line = 'referral_inbound_messages_total{outcome="unknown_source",source="unknown"} 3.0'
    assert line in metrics.splitlines()
