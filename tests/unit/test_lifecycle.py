"""The life cycle table: what the contract's diagram allows, and nothing else."""

import pytest

from referral_service.cases.lifecycle import FINAL_STATES, STATES, TRANSITIONS, allowed_transitions

EXPECTED = {
    ("RECEIVED", "ACCEPTED"),
    ("RECEIVED", "DECLINED"),
    ("RECEIVED", "RECALLED"),
    ("ACCEPTED", "IN_MEDIATION"),
    ("ACCEPTED", "RECALLED"),
    ("IN_MEDIATION", "SETTLED"),
    ("IN_MEDIATION", "NOT_SETTLED"),
    ("IN_MEDIATION", "WITHDRAWN"),
    ("IN_MEDIATION", "RECALLED"),
}


def test_table_is_exactly_the_contract_diagram():
    assert {(a, b) for a, targets in TRANSITIONS.items() for b in targets} == EXPECTED


@pytest.mark.parametrize("state", sorted(FINAL_STATES))
def test_final_states_go_nowhere(state):
    assert allowed_transitions(state) == []


def test_every_state_is_listed():
    assert set(STATES) == {s for pair in EXPECTED for s in pair}
