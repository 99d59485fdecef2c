"""What each final state needs, and what it refuses."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from referral_service.cases.outcomes import (
    REASON_CODES,
    OutcomeInvalid,
    apply_outcome,
    as_event_data,
    load_outcome,
)
from referral_service.models import Case

SETTLED = {
    "settlement_amount": "52000.00",
    "agreement_number": "ZH-XY-2026-000088",
    "judicial_confirmation_requested": False,
}


def paths(to, data):
    with pytest.raises(OutcomeInvalid) as raised:
        load_outcome(to, data)
    assert raised.value.status == 422
    return sorted(error["path"] for error in raised.value.errors)


def test_settled_values_are_typed():
    values = load_outcome("SETTLED", {**SETTLED, "note": "分期"})
    assert values["settlement_amount"] == Decimal("52000.00")
    assert values["judicial_confirmation_requested"] is False
    assert values["note"] == "分期"


@pytest.mark.parametrize("amount", ["0", "0.5", "52000", "52000.00", "9999999999999999.99"])
def test_settlement_amounts_accepted(amount):
    assert load_outcome("SETTLED", {**SETTLED, "settlement_amount": amount})


@pytest.mark.parametrize(
    "amount", ["-0.01", "1.001", "NaN", "Infinity", "1e400", "", "五万", 52000, None]
)
def test_settlement_amounts_refused(amount):
    assert paths("SETTLED", {**SETTLED, "settlement_amount": amount}) == ["/settlement_amount"]


@pytest.mark.parametrize("flag", ["true", 1, 0, None, "是"])
def test_judicial_confirmation_must_be_a_json_boolean(flag):
    data = {**SETTLED, "judicial_confirmation_requested": flag}
    assert paths("SETTLED", data) == ["/judicial_confirmation_requested"]


def test_settled_needs_all_three_fields():
    assert paths("SETTLED", {}) == [
        "/agreement_number",
        "/judicial_confirmation_requested",
        "/settlement_amount",
    ]


@pytest.mark.parametrize("state", sorted(REASON_CODES))
def test_each_refusal_takes_its_own_codes_only(state):
    for code in REASON_CODES[state]:
        assert load_outcome(state, {"reason_code": code, "reason": "说明"})["reason_code"] == code
    foreign = {c for codes in REASON_CODES.values() for c in codes} - set(REASON_CODES[state])
    for code in foreign:
        assert paths(state, {"reason_code": code, "reason": "说明"}) == ["/reason_code"]


@pytest.mark.parametrize("state", sorted(REASON_CODES))
def test_refusals_need_a_reason_and_take_no_settlement(state):
    code = REASON_CODES[state][0]
    assert paths(state, {"reason_code": code}) == ["/reason"]
    assert paths(state, {"reason_code": code, "reason": " " * 0}) == ["/reason"]
    data = {"reason_code": code, "reason": "x", "settlement_amount": "1.00"}
    assert paths(state, data) == ["/settlement_amount"]


@pytest.mark.parametrize("state", ["ACCEPTED", "IN_MEDIATION"])
def test_interim_moves_take_only_a_note(state):
    assert load_outcome(state, {}) == {"note": None}
    assert paths(state, {"reason": "x"}) == ["/reason"]


def test_recall_keeps_what_the_source_said():
    at = datetime(2026, 11, 28, 7, 0, tzinfo=UTC)
    values = load_outcome("RECALLED", {"recalled_at": at, "reason": "原告撤回起诉"})
    assert as_event_data(values) == {"recalled_at": at.isoformat(), "reason": "原告撤回起诉"}


def test_outcome_lands_on_the_case_and_the_event_as_json():
    case = Case()
    values = load_outcome("SETTLED", SETTLED)
    apply_outcome(case, values)
    assert case.settlement_amount == Decimal("52000.00")
    assert case.judicial_confirmation_requested is False
    assert as_event_data(values) == SETTLED
