"""Alert channels: the group-robot JSON and SMTP e-mail."""

from __future__ import annotations

import json
from typing import ClassVar

import pytest
import responses

from referral_service import alerts
from referral_service.alerts import EmailChannel, WebhookChannel, configured_channels
from tests.conftest import make_settings

ROBOT = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=secret-key"


@responses.activate
def test_the_robot_gets_a_text_message():
    responses.post(ROBOT, json={"errcode": 0, "errmsg": "ok"})

    WebhookChannel(ROBOT).send("[referral-service] 告警 ALERT", "gz-arbitration: paused")

    payload = json.loads(responses.calls[0].request.body)
    assert payload == {
        "msgtype": "text",
        "text": {"content": "[referral-service] 告警 ALERT\ngz-arbitration: paused"},
    }


@responses.activate
def test_a_robot_error_code_is_a_failure():
    responses.post(ROBOT, json={"errcode": 93000, "errmsg": "invalid webhook url"})

    with pytest.raises(RuntimeError, match="93000"):
        WebhookChannel(ROBOT).send("s", "b")


class FakeSMTP:
    instances: ClassVar[list[FakeSMTP]] = []

    def __init__(self, host, port, timeout):
        self.host, self.port, self.calls, self.sent = host, port, [], []
        FakeSMTP.instances.append(self)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def starttls(self):
        self.calls.append("starttls")

    def login(self, user, password):
        self.calls.append(("login", user, password))

    def send_message(self, message):
        self.sent.append(message)


def test_e_mail_goes_to_every_recipient(monkeypatch):
    monkeypatch.setattr(alerts.smtplib, "SMTP", FakeSMTP)
    cfg = make_settings(
        "sqlite://",
        alerts={
            "smtp_host": "smtp.example.org",
            "smtp_user": "robot",
            "smtp_password": "pw",
            "smtp_to": "ops@example.org, lead@example.org",
        },
    ).alerts

    EmailChannel(cfg).send("[referral-service] 告警 ALERT", "gz-arbitration: paused")

    smtp = FakeSMTP.instances[-1]
    assert (smtp.host, smtp.port) == ("smtp.example.org", 587)
    assert smtp.calls == ["starttls", ("login", "robot", "pw")]
    message = smtp.sent[0]
    assert message["To"] == "ops@example.org, lead@example.org"
    assert message["Subject"] == "[referral-service] 告警 ALERT"
    assert "gz-arbitration: paused" in message.get_content()


def test_channels_are_on_only_when_configured():
    assert configured_channels(make_settings("sqlite://")) == []
    settings = make_settings(
        "sqlite://",
        alerts={"webhook_url": ROBOT, "smtp_host": "smtp.example.org", "smtp_to": "a@b.c"},
    )

    assert [c.name for c in configured_channels(settings)] == ["webhook", "email"]
    states = alerts.channel_states(settings)
    assert "secret-key" not in repr(states)
