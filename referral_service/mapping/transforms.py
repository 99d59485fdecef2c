"""Value transforms a mapping may name: text in, canonical text out.

Each transform takes the text found in the message and the field's options and returns
the canonical representation (ISO dates, ISO date-times with offset, plain decimals),
or raises `TransformError` with a message a court's clerk can act on. Types are checked
afterwards by the canonical schema; transforms only normalise the spelling.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from referral_service.localtime import LOCAL_TZ

_ZONES = {"Asia/Shanghai": LOCAL_TZ, "UTC": UTC}
_AMOUNT_NOISE = re.compile(r"[\s,，¥￥]|元$|CNY$|RMB$", re.IGNORECASE)


class TransformError(ValueError):
    """The value cannot be converted; the message says what was expected."""


def trim(value: str, options: Mapping[str, Any]) -> str:
    """Strip leading and trailing whitespace (applied to every text value anyway)."""
    return value.strip()


def collapse(value: str, options: Mapping[str, Any]) -> str:
    """Collapse runs of whitespace (line breaks in long texts) into single spaces."""
    return " ".join(value.split())


def upper(value: str, options: Mapping[str, Any]) -> str:
    """Upper-case, e.g. for ID numbers ending in a lower-case x."""
    return value.upper()


def amount(value: str, options: Mapping[str, Any]) -> str:
    """A decimal amount: drops thousands separators, currency signs and a trailing 元.

    `58,210.35`, `58210.35元` and `¥58,210.35` all become `58210.35`.
    """
    cleaned = _AMOUNT_NOISE.sub("", value.strip())
    try:
        number = Decimal(cleaned)
    except InvalidOperation:
        raise TransformError(f"not a decimal amount: {value!r}") from None
    if not number.is_finite():
        raise TransformError(f"not a decimal amount: {value!r}")
    return str(number)


def to_date(value: str, options: Mapping[str, Any]) -> str:
    """An ISO date; `format` (strptime, e.g. `%Y年%m月%d日`) reads other spellings."""
    fmt = options.get("format")
    try:
        parsed = datetime.strptime(value, fmt).date() if fmt else date.fromisoformat(value)
    except ValueError:
        raise TransformError(f"not a date in the form {fmt or 'YYYY-MM-DD'}: {value!r}") from None
    return parsed.isoformat()


def to_datetime(value: str, options: Mapping[str, Any]) -> str:
    """An ISO 8601 date-time with offset.

    `format` (strptime) reads other spellings; `timezone` (`Asia/Shanghai` or `UTC`) is
    assumed for values without an offset. Without `timezone`, an offset is required.
    """
    fmt = options.get("format")
    try:
        parsed = datetime.strptime(value, fmt) if fmt else datetime.fromisoformat(value)
    except ValueError:
        expected = fmt or "ISO 8601, e.g. 2026-11-20T09:30:00+08:00"
        raise TransformError(f"not a date-time in the form {expected}: {value!r}") from None
    if parsed.tzinfo is None:
        zone = options.get("timezone")
        if zone is None:
            raise TransformError(f"date-time without an offset: {value!r}")
        parsed = parsed.replace(tzinfo=_ZONES[zone])
    return parsed.isoformat()


TRANSFORMS: dict[str, Callable[[str, Mapping[str, Any]], str]] = {
    "trim": trim,
    "collapse": collapse,
    "upper": upper,
    "amount": amount,
    "date": to_date,
    "datetime": to_datetime,
}
TIMEZONES = tuple(_ZONES)
