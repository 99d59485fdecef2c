"""Jinja helpers of the staff pages: local times, ages, labels and masking.

Times are shown in Asia/Shanghai. `private` masks personal data unless the signed-in
user is an admin, so a template cannot forget to.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask import Flask, g, request
from flask_babel import format_datetime, format_timedelta, get_locale

from referral_service.auth import is_admin
from referral_service.auth.accounts import role_allows
from referral_service.dashboard.i18n import LANGUAGES
from referral_service.dashboard.labels import coded, label, pause_reason, pauser
from referral_service.masking import mask_address, mask_id_number, mask_name, mask_phone, mask_text
from referral_service.models import utcnow

_MASKS = {
    "name": mask_name,
    "id_number": mask_id_number,
    "phone": mask_phone,
    "address": mask_address,
    "text": mask_text,
}


def local_time(value: datetime | None) -> str:
    """`2026-11-20 09:30:00` in Asia/Shanghai; a dash for None."""
    return format_datetime(value, "yyyy-MM-dd HH:mm:ss") if value else "—"


def ago(value: datetime | None) -> str:
    """How long ago `value` was, in words of the page's language ("3 minutes ago")."""
    if value is None:
        return "—"
    return format_timedelta(value - utcnow(), threshold=1.5, add_direction=True)


def duration(seconds: float | None) -> str:
    """A duration in words of the page's language ("2 hours")."""
    if seconds is None:
        return "—"
    return format_timedelta(timedelta(seconds=max(0, seconds)), threshold=1.5)


def private(value: Any, kind: str = "text") -> Any:
    """Personal data as the current user may see it: masked unless admin."""
    if value is None or value == "":
        return value
    if is_admin():
        return value
    return _MASKS[kind](str(value))


def party_name(party: Any) -> str:
    """A party's name as the current user may see it: a person's is masked unless admin."""
    return party.name if party.type != "PERSON" else private(party.name, "name")


def _page_context() -> dict[str, Any]:
    user = g.get("user")
    return {
        "user": user,
        "can_act": user is not None and role_allows(user.role, "operator"),
        "is_admin": is_admin(),
        "locale": str(get_locale()),
        "languages": LANGUAGES,
        "here": request.full_path.rstrip("?"),
    }


def init_app(app: Flask) -> None:
    """Register the filters and the page context."""
    app.jinja_env.filters.update(
        local_time=local_time, ago=ago, duration=duration, private=private, party_name=party_name
    )
    app.jinja_env.globals.update(label=label, coded=coded, pauser=pauser, pause_reason=pause_reason)
    app.context_processor(_page_context)
