"""Concurrent pushes: unique constraints and the counter upsert, not check-then-insert.

The concurrency tests need a database that runs transactions in parallel: PostgreSQL.
"""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from referral_service import db
from referral_service.cases.numbering import next_case_number
from referral_service.models import Case, Referral
from tests.signing import COURT, example, signed

THREADS = 20
REFERRAL = example("court-referral.xml")


def concurrently(app, bodies: list[bytes]) -> list:
    """POST each body from its own thread (own client, own app context), all at once."""
    barrier = threading.Barrier(len(bodies))
    responses: list = [None] * len(bodies)
    requests = [(body, signed(COURT, body)) for body in bodies]

    def run(index: int) -> None:
        body, headers = requests[index]
        client = app.test_client()
        barrier.wait()
        responses[index] = client.post(
            f"/api/v1/sources/{COURT}/referrals", data=body, headers=headers
        )

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(bodies))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return responses


@pytest.mark.postgresql_only
def test_twenty_concurrent_pushes_of_one_referral_make_one_case(app):
    responses = concurrently(app, [REFERRAL] * THREADS)
    assert Counter(r.status_code for r in responses) == {201: 1, 200: THREADS - 1}
    assert len({r.json["case_id"] for r in responses}) == 1
    with app.app_context():
        assert len(db.session().scalars(select(Case)).all()) == 1
        assert len(db.session().scalars(select(Referral)).all()) == 1


@pytest.mark.postgresql_only
def test_concurrent_new_referrals_get_consecutive_case_numbers(app):
    bodies = [
        REFERRAL.replace(b"GZZY-WP-2026-000317", f"GZZY-WP-2026-{i:06d}".encode())
        for i in range(THREADS)
    ]
    responses = concurrently(app, bodies)
    assert [r.status_code for r in responses] == [201] * THREADS
    numbers = sorted(int(r.json["case_number"][-6:]) for r in responses)
    assert numbers == list(range(1, THREADS + 1))


def test_case_numbers_are_per_year_of_receipt_in_shanghai(session):
    new_year_in_shanghai = datetime(2026, 12, 31, 16, 30, tzinfo=UTC)  # 2027-01-01 00:30 +08
    assert next_case_number(session, datetime(2026, 6, 1, tzinfo=UTC)) == "ZH-2026-000001"
    assert next_case_number(session, datetime(2026, 6, 2, tzinfo=UTC)) == "ZH-2026-000002"
    assert next_case_number(session, new_year_in_shanghai) == "ZH-2027-000001"


def test_a_rolled_back_case_gives_its_number_back(session):
    assert next_case_number(session, datetime(2026, 6, 1, tzinfo=UTC)) == "ZH-2026-000001"
    session.commit()
    assert next_case_number(session, datetime(2026, 6, 1, tzinfo=UTC)) == "ZH-2026-000002"
    session.rollback()
    assert next_case_number(session, datetime(2026, 6, 1, tzinfo=UTC)) == "ZH-2026-000002"
