"""The staff pages' Chinese catalogue: complete, and the compiled .mo matches the .po."""

from __future__ import annotations

from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from referral_service.config import PROJECT_ROOT

TRANSLATIONS = PROJECT_ROOT / "referral_service" / "translations"
CATALOGUE = TRANSLATIONS / "zh" / "LC_MESSAGES"
METHODS = [("referral_service/**.py", "python"), ("referral_service/templates/**.html", "jinja2")]


def _texts_in_code() -> set[str]:
    found = extract_from_dir(
        PROJECT_ROOT, METHODS, keywords={"_": None, "_l": None, "gettext": None}
    )
    return {message for _file, _line, message, _comments, _context in found}


def test_every_text_of_the_pages_has_a_chinese_translation():
    with (CATALOGUE / "messages.po").open("rb") as fh:
        translated = {m.id: m.string for m in read_po(fh) if m.id and m.string}

    texts = _texts_in_code()
    assert {
        "Overview",
        "Re-queue this report",
        "deliveries failing",
    } <= texts  # both extractors ran
    missing = sorted(texts - set(translated))

    assert missing == [], "run `make translations` and translate: " + "; ".join(missing)


def test_the_compiled_catalogue_is_up_to_date():
    with (CATALOGUE / "messages.po").open("rb") as fh:
        po = {m.id: m.string for m in read_po(fh) if m.id}
    with (CATALOGUE / "messages.mo").open("rb") as fh:
        mo = {m.id: m.string for m in read_mo(fh) if m.id}

    assert mo == po, "run `make translations` to compile the .po"
