"""Local time: stored in UTC, shown and reported in Asia/Shanghai with its offset."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

LOCAL_TZ = ZoneInfo("Asia/Shanghai")


def local_iso(moment: datetime | None) -> str | None:
    """`moment` in Asia/Shanghai as ISO 8601 to the second: `2026-12-03T16:20:00+08:00`."""
    if moment is None:
        return None
    return moment.astimezone(LOCAL_TZ).replace(microsecond=0).isoformat()


def local_today(now: datetime | None = None) -> date:
    """The calendar date in Asia/Shanghai now (or at `now`): deadlines are such dates."""
    return (now or datetime.now(UTC)).astimezone(LOCAL_TZ).date()


def local_midnight(day: date) -> datetime:
    """The start of `day` in Asia/Shanghai, as an aware datetime."""
    return datetime.combine(day, time.min, tzinfo=LOCAL_TZ)
