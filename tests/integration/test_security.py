"""Security properties that cut across modules: what reaches the logs, what leaves the site."""

from __future__ import annotations

from referral_service.config import PROJECT_ROOT


def test_the_production_image_keeps_query_strings_out_of_the_logs():
    # Staff search by a party's name or ID number (`?q=`); the app logs paths only and masks
    # every line, but gunicorn's access log would write the raw query string.
    command = (PROJECT_ROOT / "Dockerfile").read_text(encoding="utf-8")

    assert "gunicorn" in command
    assert "--access-logfile" not in command
    assert "--access-log-format" not in command
