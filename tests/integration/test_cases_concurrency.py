"""Two staff members concluding one case at once: exactly one wins, exactly one report."""

import threading

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm.exc import StaleDataError

from referral_service import db
from referral_service.cases import lifecycle
from referral_service.models import Case, Report
from tests.integration.test_cases_lifecycle import OUTCOMES, new_case

CONCLUSIONS = [
    {"to": "SETTLED", **OUTCOMES["SETTLED"]},
    {"to": "NOT_SETTLED", **OUTCOMES["NOT_SETTLED"]},
]


def _reports(app, case_id) -> list[Report]:
    with app.app_context():
        query = select(Report).where(Report.case_id == case_id)
        return list(db.session().scalars(query))


# Row-level concurrency is PostgreSQL's; SQLite serialises writers.
@pytest.mark.postgresql_only
def test_two_threads_conclude_one_case_at_once(app, auth, monkeypatch):
    case_id = new_case(app, status="IN_MEDIATION")
    headers = [auth("operator"), auth("operator")]
    both_loaded = threading.Barrier(2, timeout=10)
    real_transition = lifecycle.transition

    def transition_together(*args, **kwargs):
        both_loaded.wait()  # both requests read the case at the same version first
        return real_transition(*args, **kwargs)

    monkeypatch.setattr(lifecycle, "transition", transition_together)
    results: list = [None, None]

    def conclude(i: int) -> None:
        response = app.test_client().post(
            f"/api/v1/cases/{case_id}/transitions", json=CONCLUSIONS[i], headers=headers[i]
        )
        results[i] = (response.status_code, response.json)

    threads = [threading.Thread(target=conclude, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    codes = sorted(code for code, _body in results)
    assert codes == [200, 409], results
    loser = next(body for code, body in results if code == 409)
    assert loser["type"].endswith("concurrent-change")
    winner = next(body for code, body in results if code == 200)
    reports = _reports(app, case_id)
    assert len(reports) == 1
    assert reports[0].case_status == winner["status"]
    with app.app_context():
        assert db.session().get(Case, case_id).status == winner["status"]


def test_a_conclusion_from_a_stale_read_is_refused_and_writes_nothing(app):
    case_id = new_case(app, status="IN_MEDIATION")
    with app.app_context():
        first = db.database().sessionmaker()
        second = db.database().sessionmaker()
        try:
            mine, theirs = first.get(Case, case_id), second.get(Case, case_id)
            lifecycle.transition(first, mine, "SETTLED", actor="a", data=OUTCOMES["SETTLED"])
            first.commit()
            with pytest.raises(StaleDataError):
                lifecycle.transition(
                    second, theirs, "NOT_SETTLED", actor="b", data=OUTCOMES["NOT_SETTLED"]
                )
            second.rollback()
        finally:
            first.close()
            second.close()
        count = db.session().scalar(select(func.count()).select_from(Report))
    assert count == 1
