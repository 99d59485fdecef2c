"""Alerts, so nobody has to stare at the dashboard: one notification when a condition
starts and one when it clears, never one per retry.

Conditions (each keyed, e.g. `delivery_failing:gz-arbitration`):

- `delivery_failing`: a source has FAILED reports, or its last `failing_attempts`
  attempts all failed;
- `source_paused`: a source's delivery is paused (by staff or the breaker);
- `oldest_undelivered`: a report older than `oldest_undelivered_seconds` is undelivered;
- `inbound_refused`: a source's pushes were refused within `refused_window_seconds`;
- `worker_stale`: no worker heartbeat for `heartbeat_stale_seconds` (seen by another
  worker; with a single process, `/readyz` and the heartbeat metric catch a dead one);
- `cases_overdue`: open cases past their deadline.

State lives in the `alerts` table, one row per firing. A start is announced while the
alert is open; a clear only if its start was announced. A notification that no channel
took is tried again at the next run. Texts carry ids, counts and error codes, never
personal data; they are in the `[alerts] language` (Chinese unless "en"), from the
dashboard's catalogue, and so is the detail the dashboard shows. On PostgreSQL an
advisory lock lets one worker evaluate at a time.
"""

from __future__ import annotations

import logging
import smtplib
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Protocol
from urllib.parse import urlsplit

import requests
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import and_, or_, select, text
from sqlalchemy.orm import Session

from referral_service import db, settings, sources
from referral_service.config import Settings
from referral_service.dashboard.labels import label, pauser
from referral_service.dashboard.status import (
    recent_refused,
    sync_status,
    trailing_failures,
)
from referral_service.localtime import local_iso
from referral_service.masking import mask_text
from referral_service.models import Alert, utcnow
from referral_service.sources import SourceRegistry

log = logging.getLogger(__name__)

_LOCK_KEY = 0x7265666572  # any constant shared by every worker of the database


@dataclass(frozen=True)
class Condition:
    """A condition that holds now."""

    key: str
    kind: str
    source_id: str | None
    detail: str


class Channel(Protocol):
    """Somewhere to send a notification."""

    name: str

    def send(self, subject: str, body: str) -> None:
        """Deliver the text; raise on failure."""


def _minutes(seconds: int) -> str:
    return _("%(n)s min", n=seconds // 60)


def conditions(
    db_session: Session, config: Settings, registry: SourceRegistry, now: datetime
) -> list[Condition]:
    """Every alert condition that holds at `now`."""
    cfg = config.alerts
    status = sync_status(
        db_session, registry, due_soon_days=config.deadlines["due_soon_days"], now=now
    )
    streaks = trailing_failures(db_session, cfg["failing_attempts"])
    refused = recent_refused(db_session, now - timedelta(seconds=cfg["refused_window_seconds"]))
    found = []
    for s in status.sources:
        failed, streak = s.reports["FAILED"], streaks.get(s.id, 0)
        if failed or streak >= cfg["failing_attempts"]:
            error = mask_text(s.last_error or "")[:200]
            found.append(
                Condition(
                    f"delivery_failing:{s.id}",
                    "delivery_failing",
                    s.id,
                    _(
                        "%(source)s: %(failed)s report(s) FAILED, last %(streak)s attempt(s) "
                        "failed; last error: %(error)s",
                        source=s.id,
                        failed=failed,
                        streak=streak,
                        error=error,
                    ),
                )
            )
        if s.paused:
            found.append(
                Condition(
                    f"source_paused:{s.id}",
                    "source_paused",
                    s.id,
                    _(
                        "%(source)s: paused by %(who)s",
                        source=s.id,
                        who=pauser(s.paused_by),
                    ),
                )
            )
        age = s.oldest_pending_seconds
        if age is not None and age > cfg["oldest_undelivered_seconds"]:
            found.append(
                Condition(
                    f"oldest_undelivered:{s.id}",
                    "oldest_undelivered",
                    s.id,
                    _(
                        "%(source)s: oldest undelivered report is %(age)s old (limit %(limit)s)",
                        source=s.id,
                        age=_minutes(age),
                        limit=_minutes(cfg["oldest_undelivered_seconds"]),
                    ),
                )
            )
        if refused.get(s.id):
            found.append(
                Condition(
                    f"inbound_refused:{s.id}",
                    "inbound_refused",
                    s.id,
                    _(
                        "%(source)s: %(n)s push(es) refused in the last %(window)s",
                        source=s.id,
                        n=refused[s.id],
                        window=_minutes(cfg["refused_window_seconds"]),
                    ),
                )
            )
    heartbeat_age = status.heartbeat_age_seconds
    if heartbeat_age is not None and heartbeat_age > cfg["heartbeat_stale_seconds"]:
        found.append(
            Condition(
                "worker_stale",
                "worker_stale",
                None,
                _(
                    "no worker heartbeat for %(n)s s (last: %(worker)s)",
                    n=heartbeat_age,
                    worker=status.heartbeat_worker,
                ),
            )
        )
    if status.cases_overdue:
        found.append(
            Condition(
                "cases_overdue",
                "cases_overdue",
                None,
                _("%(n)s open case(s) past their deadline", n=status.cases_overdue),
            )
        )
    return found


class WebhookChannel:
    """A WeCom / DingTalk style group robot: `{"msgtype": "text", "text": {"content": ...}}`."""

    name = "webhook"

    def __init__(self, url: str, timeout: float = 5):
        self.url, self.timeout = url, timeout

    def send(self, subject: str, body: str) -> None:
        payload = {"msgtype": "text", "text": {"content": f"{subject}\n{body}"}}
        response = requests.post(self.url, json=payload, timeout=self.timeout)
        response.raise_for_status()
        if response.headers.get("Content-Type", "").startswith("application/json"):
            errcode = response.json().get("errcode", 0)
            if errcode:
                raise RuntimeError(f"robot refused the message: errcode {errcode}")


class EmailChannel:
    """SMTP e-mail, STARTTLS and login when configured."""

    name = "email"

    def __init__(self, cfg: dict):
        self.cfg = cfg

    def send(self, subject: str, body: str) -> None:
        cfg = self.cfg
        message = EmailMessage()
        message["Subject"], message["From"] = subject, cfg["smtp_from"]
        message["To"] = ", ".join(recipients(cfg))
        message.set_content(body)
        with smtplib.SMTP(cfg["smtp_host"], cfg["smtp_port"], timeout=10) as smtp:
            if cfg["smtp_starttls"]:
                smtp.starttls()
            if cfg["smtp_user"]:
                smtp.login(cfg["smtp_user"], cfg["smtp_password"])
            smtp.send_message(message)


def recipients(cfg: dict) -> list[str]:
    """The e-mail addresses of `smtp_to`."""
    return [address.strip() for address in cfg["smtp_to"].split(",") if address.strip()]


def configured_channels(config: Settings) -> list[Channel]:
    """The channels the `[alerts]` settings turn on."""
    cfg = config.alerts
    channels: list[Channel] = []
    if cfg["webhook_url"]:
        channels.append(WebhookChannel(cfg["webhook_url"]))
    if cfg["smtp_host"] and recipients(cfg):
        channels.append(EmailChannel(cfg))
    return channels


def channel_states(config: Settings) -> list[tuple[str, bool, str]]:
    """`(channel, on, where)` for each channel, for the dashboard; secrets left out."""
    cfg = config.alerts
    to = ", ".join(recipients(cfg))
    return [
        ("webhook", bool(cfg["webhook_url"]), urlsplit(cfg["webhook_url"]).hostname or ""),
        ("email", bool(cfg["smtp_host"] and to), f"{cfg['smtp_host']} → {to}" if to else ""),
    ]


def _announce(channels: list[Channel], subject: str, body: str) -> bool:
    """Send to every channel; True when at least one took it (so it is not repeated)."""
    sent = False
    for channel in channels:
        try:
            channel.send(subject, body)
            sent = True
        except Exception as exc:
            log.warning("alert channel %s failed: %s", channel.name, type(exc).__name__)
    return sent


def _message(alert: Alert, started: bool) -> tuple[str, str]:
    what = label(alert.kind)
    if started:
        return "[referral-service] " + _("ALERT: %(what)s", what=what), alert.detail
    since = local_iso(alert.started_at)
    return (
        "[referral-service] " + _("CLEARED: %(what)s", what=what),
        alert.detail + "\n" + _("(cleared; firing since %(time)s)", time=since),
    )


def _take_lock(db_session: Session) -> bool:
    if db_session.get_bind().dialect.name != "postgresql":
        return True  # SQLite runs a single worker
    return bool(db_session.scalar(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": _LOCK_KEY}))


def evaluate_alerts(
    db_session: Session,
    config: Settings,
    registry: SourceRegistry,
    channels: list[Channel] | None = None,
    now: datetime | None = None,
) -> list[Alert]:
    """Open alerts for new conditions, clear ended ones, announce each change once, with
    details and texts in the `[alerts] language`.

    Returns the alerts announced in this run. Commits.
    """
    with force_locale(config.alerts["language"]):
        return _evaluate(db_session, config, registry, channels, now)


def _evaluate(
    db_session: Session,
    config: Settings,
    registry: SourceRegistry,
    channels: list[Channel] | None,
    now: datetime | None,
) -> list[Alert]:
    now = now or utcnow()
    channels = configured_channels(config) if channels is None else channels
    if not _take_lock(db_session):
        return []
    current = {c.key: c for c in conditions(db_session, config, registry, now)}
    open_alerts = {
        a.key: a for a in db_session.scalars(select(Alert).where(Alert.cleared_at.is_(None)))
    }
    for key, condition in current.items():
        if key in open_alerts:
            open_alerts[key].detail = condition.detail
        else:
            db_session.add(
                Alert(
                    key=key,
                    kind=condition.kind,
                    source_id=condition.source_id,
                    detail=condition.detail,
                    started_at=now,
                )
            )
    for key, alert in open_alerts.items():
        if key not in current:
            alert.cleared_at = now
    db_session.flush()
    announced = []
    for alert in db_session.scalars(_unannounced()):
        started = alert.cleared_at is None
        if _announce(channels, *_message(alert, started)):
            if started:
                alert.notified_start = True
            else:
                alert.notified_clear = True
            announced.append(alert)
    db_session.commit()
    return announced


def _unannounced():
    return (
        select(Alert)
        .where(
            or_(
                and_(Alert.cleared_at.is_(None), Alert.notified_start.is_(False)),
                and_(
                    Alert.cleared_at.is_not(None),
                    Alert.notified_start.is_(True),
                    Alert.notified_clear.is_(False),
                ),
            )
        )
        .order_by(Alert.id)
    )


def run() -> None:
    """The scheduled job: evaluate alerts with the app's settings and channels."""
    evaluate_alerts(db.session(), settings(), sources())
