"""Parsing inbound bodies: DOCTYPEs refused in any encoding, faults located."""

from __future__ import annotations

import pytest

from referral_service.errors import ProblemError
from referral_service.intake.parsing import parse_json, parse_xml
from tests.integration.test_intake_attacks import BILLION_LAUGHS


def refusal(parse, body: bytes) -> ProblemError:
    with pytest.raises(ProblemError) as caught:
        parse(body)
    assert caught.value.status == 400
    return caught.value


@pytest.mark.parametrize(
    "encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le", "utf-32-be"]
)
def test_doctype_is_refused_in_utf16_and_utf32_too(encoding):
    body = BILLION_LAUGHS.replace(b'<?xml version="1.0"?>\n', b"").decode().encode(encoding)
    assert "DOCTYPE" in refusal(parse_xml, body).detail


def test_xml_syntax_error_names_line_and_column():
    problem = refusal(parse_xml, b"<a>\n  <b>\n</a>")
    assert (problem.extra["line"], problem.extra["column"]) == (3, 5)


def test_json_syntax_error_names_line_and_column():
    problem = refusal(parse_json, b'{\n "a": 1,\n}')
    assert problem.extra["line"] == 3


def test_json_must_be_utf8():
    assert "UTF-8" in refusal(parse_json, '{"a": "陈"}'.encode("gb18030")).detail


def test_deeply_nested_json_is_refused_not_crashed():
    refusal(parse_json, b"[" * 100_000 + b"]" * 100_000)


def test_well_formed_xml_parses():
    tree = parse_xml(b'<?xml version="1.0" encoding="UTF-8"?><r xmlns="urn:x">\xe5\x88\x98</r>')
    assert tree.getroot().text == "刘"
