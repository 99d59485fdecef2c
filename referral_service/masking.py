"""Masking of personal data for logs, error messages, the dashboard and non-admin API reads.

Name `刘某某` -> `刘**`; ID `440106198503151233` -> `440106********1233`;
phone `13800138000` -> `138****8000`; address keeps its first six characters.
"""

from __future__ import annotations

import re

_ID_RE = re.compile(r"(?<![0-9A-Za-z])(\d{6})(\d{5,8})(\d{3}[\dXx])(?![0-9A-Za-z])")
_MOBILE_RE = re.compile(r"(?<!\d)(1[3-9]\d)(\d{4})(\d{4})(?!\d)")


def mask_name(name: str | None) -> str | None:
    """Keep the first character; one `*` per remaining character (at least two)."""
    if not name:
        return name
    return name[0] + "*" * max(2, len(name) - 1) if len(name) <= 4 else name[:2] + "*" * 4


def mask_id_number(value: str | None) -> str | None:
    """Keep the first six and last four characters."""
    if not value:
        return value
    if len(value) <= 10:
        return value[:2] + "*" * (len(value) - 2)
    return value[:6] + "*" * (len(value) - 10) + value[-4:]


def mask_phone(value: str | None) -> str | None:
    """Keep the first three and last four digits."""
    if not value:
        return value
    if len(value) <= 7:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


def mask_address(value: str | None) -> str | None:
    """Keep the first six characters (city and district)."""
    if not value:
        return value
    return value[:6] + "*" * 4


def mask_text(text: str) -> str:
    """Mask ID numbers and mobile numbers found anywhere in free text."""
    text = _ID_RE.sub(lambda m: m.group(1) + "*" * len(m.group(2)) + m.group(3)[-4:], text)
    return _MOBILE_RE.sub(lambda m: m.group(1) + "****" + m.group(3), text)
