"""Languages of the staff pages: Simplified Chinese by default, English on request
(`Accept-Language` or the switch in the page header, remembered in the session)."""

from __future__ import annotations

from flask import Blueprint, redirect, request, session

from referral_service.auth.login import safe_next

LANGUAGES = {"zh": "中文", "en": "English"}
DEFAULT_LANGUAGE = "zh"

bp = Blueprint("i18n", __name__)


def select_locale() -> str:
    """The session's chosen language, else the best `Accept-Language` match, else Chinese."""
    chosen = session.get("lang")
    if chosen in LANGUAGES:
        return chosen
    return request.accept_languages.best_match(list(LANGUAGES), default=DEFAULT_LANGUAGE)


@bp.get("/language/<code>")
def switch(code: str):
    """Remember a language for this browser session and go back where the user was."""
    if code in LANGUAGES:
        session["lang"] = code
    return redirect(safe_next(request.args.get("next")))
