"""Small helpers shared by the list pages: pagination and the source picker."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import Select
from sqlalchemy.orm import Session

from referral_service import sources

PER_PAGE = 50


@dataclass
class Page:
    """One page of rows; `has_next` is known by reading one row more."""

    items: list[Any]
    number: int
    has_next: bool

    @property
    def has_prev(self) -> bool:
        return self.number > 1


def page_of(db: Session, query: Select, number: int, per_page: int = PER_PAGE) -> Page:
    """Rows of page `number` (from 1) of an ordered query."""
    rows = list(db.scalars(query.offset((number - 1) * per_page).limit(per_page + 1)))
    return Page(items=rows[:per_page], number=number, has_next=len(rows) > per_page)


def source_choices() -> list[tuple[str, str]]:
    """`(id, name)` of every source, after an "any" choice."""
    return [("", _("any")), *((s.id, f"{s.name} ({s.id})") for s in sources().all())]
