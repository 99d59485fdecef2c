"""Forms of the staff pages. Action forms carry only the CSRF token (and a reason);
list filters are plain GET forms so a filtered page has a URL to share."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, Form, IntegerField, SelectField, StringField
from wtforms.validators import Length, NumberRange, Optional


class ActionForm(FlaskForm):
    """A button that changes something: replay, requeue, resume."""


class PauseForm(FlaskForm):
    """Pause a source's deliveries, saying why."""

    reason = StringField(_l("Reason"), validators=[Optional(), Length(max=500)])


class _Filter(Form):
    page = IntegerField(default=1, validators=[Optional(), NumberRange(min=1)])

    def value(self, name: str):
        """The field's value when it validated, else None (a bad filter is ignored)."""
        field = self[name]
        return field.data if field.data not in ("", None) and not field.errors else None


class InboundFilter(_Filter):
    source = SelectField(_l("Source"), validate_choice=True)
    outcome = SelectField(_l("Outcome"), validate_choice=True)
    date_from = DateField(_l("From"), validators=[Optional()])
    date_to = DateField(_l("To"), validators=[Optional()])


class ReportFilter(_Filter):
    source = SelectField(_l("Source"), validate_choice=True)
    status = SelectField(_l("Status"), validate_choice=True)


class CaseSearch(_Filter):
    q = StringField(_l("Search"), validators=[Optional(), Length(max=200)])
    status = SelectField(_l("Status"), validate_choice=True)
