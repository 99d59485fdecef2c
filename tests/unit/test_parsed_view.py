"""The parsed view of inbound bodies: paths and values, personal data masked by field."""

from __future__ import annotations

import pytest

from referral_service.dashboard.parsed import parsed_rows
from referral_service.errors import ProblemError
from tests.signing import example


def test_court_xml_is_flattened_with_personal_fields_masked():
    rows = dict(parsed_rows(example("court-referral.xml"), "application/xml", masked=True))

    assert rows["Referral/CaseNumber"] == "(2026)粤01民诉前调1234号"
    assert rows["Referral/Court"] == "广州市中级人民法院"  # not a person: kept
    assert rows["Referral/Parties/Party[1]/Name"] == "刘**"
    assert rows["Referral/Parties/Party[1]/IdNumber"] == "440106********1233"
    assert rows["Referral/Parties/Party[1]/Phone"] == "138****8000"
    assert rows["Referral/Parties/Party[1]/@role"] == "PLAINTIFF"


def test_arbitration_json_masks_nested_id_values():
    rows = dict(parsed_rows(example("arbitration-referral.json"), "application/json", masked=True))

    assert rows["parties[1]/name"] == "陈**"
    assert rows["parties[2]/id_number/value"] == "914400********600N"
    assert rows["parties[2]/id_number/scheme"] == "USCC"
    assert rows["claim/amount"] == "12000.00"


def test_unmasked_for_admins():
    rows = dict(parsed_rows(example("court-referral.xml"), "application/xml", masked=False))

    assert rows["Referral/Parties/Party[1]/IdNumber"] == "440106198503151233"


def test_a_body_that_does_not_parse_raises_the_parsers_problem():
    with pytest.raises(ProblemError, match="Not well-formed"):
        parsed_rows(b"<Referral><oops></Referral>", "application/xml", masked=True)
