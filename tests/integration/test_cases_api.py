"""Reading cases, finding them, deadlines, ETags and who may do what."""

from datetime import UTC, date, datetime

import pytest

from referral_service import db
from referral_service.models import Party
from tests.builders import build_case, build_report
from tests.integration.test_cases_lifecycle import OUTCOMES, move, new_case, stored

PROBLEM = "application/problem+json"


def test_case_detail_has_the_contract_fields(app, client, auth):
    with app.app_context():
        case = build_case(db.session(), status="IN_MEDIATION")
        build_report(db.session(), case, case_status="ACCEPTED", last_error="HTTP 503")
        case_id = case.id
    response = client.get(f"/api/v1/cases/{case_id}", headers=auth("viewer"))
    assert response.status_code == 200
    body = response.json
    for key in [
        "id",
        "case_number",
        "status",
        "version",
        "source",
        "referral_id",
        "court_case_number",
        "referral_type",
        "category",
        "deadline",
        "deadline_state",
        "claim_amount",
        "flagged",
        "warnings",
        "parties",
        "events",
        "reports",
        "allowed_transitions",
    ]:
        assert key in body, key
    assert body["source"] == "gz-intermediate-court"
    assert body["claim_amount"] == "58210.35"
    assert body["deadline"] == "2026-12-20"
    assert body["referred_at"] == "2026-11-20T09:30:00+08:00"
    assert body["allowed_transitions"] == ["NOT_SETTLED", "SETTLED", "WITHDRAWN"]
    report = body["reports"][0]
    assert set(report) == {
        "id",
        "sequence",
        "case_status",
        "status",
        "attempt_count",
        "next_attempt_at",
        "delivered_at",
        "last_error",
        "waiting_for",
    }
    assert report["last_error"] == "HTTP 503"
    assert report["waiting_for"] is None
    assert response.headers["ETag"] == f'"{body["version"]}"'


def test_a_report_held_by_a_failed_earlier_one_says_so(app, client, auth):
    with app.app_context():
        case = build_case(db.session(), status="SETTLED")
        first = build_report(db.session(), case, case_status="ACCEPTED", status="FAILED")
        build_report(db.session(), case, case_status="SETTLED")
        case_id, first_id = case.id, first.id
    reports = client.get(f"/api/v1/cases/{case_id}", headers=auth("viewer")).json["reports"]
    assert reports[0]["waiting_for"] is None
    assert reports[1]["waiting_for"] == f"waiting for report {first_id} (FAILED)"


def test_personal_data_is_masked_unless_admin(app, client, auth):
    case_id = new_case(app)
    with app.app_context():
        party = db.session().query(Party).filter_by(case_id=case_id, position=0).one()
        party.address = "广州市天河区体育西路1号"
        db.session().commit()
    masked = client.get(f"/api/v1/cases/{case_id}", headers=auth("operator")).json["parties"]
    person, organization = masked
    assert person["name"] == "刘**"
    assert person["id_number"] == "440106********1233"
    assert person["phone"] == "138****8000"
    assert person["address"] == "广州市天河区****"
    assert organization["name"] == "某某银行股份有限公司广州分行"  # not personal data
    full = client.get(f"/api/v1/cases/{case_id}", headers=auth("admin")).json["parties"][0]
    assert (full["name"], full["id_number"], full["phone"]) == (
        "刘某某",
        "440106198503151233",
        "13800138000",
    )


def test_timeline_notes_are_masked_unless_admin(app, client, auth):
    # A note typed into a transition lands in the event's data, not only on the case.
    case_id = new_case(app)
    note = "已联系原告，身份证440106198503151233，电话13800138000"
    assert move(client, auth("operator"), case_id, "ACCEPTED", note=note).status_code == 200

    def accepted_note(role: str) -> str:
        events = client.get(f"/api/v1/cases/{case_id}", headers=auth(role)).json["events"]
        [event] = [e for e in events if e["to_status"] == "ACCEPTED"]
        return event["data"]["note"]

    assert accepted_note("viewer") == "已联系原告，身份证440106********1233，电话138****8000"
    assert accepted_note("admin") == note


def test_unknown_case_is_a_404_problem(client, auth):
    response = client.get("/api/v1/cases/999999", headers=auth("viewer"))
    assert response.status_code == 404
    assert response.mimetype == PROBLEM


def _list(client, headers, **params):
    response = client.get("/api/v1/cases", query_string=params, headers=headers)
    assert response.status_code == 200, response.json
    return response.json


def test_list_filters_search_and_pages(app, client, auth):
    with app.app_context():
        session = db.session()
        made = [
            build_case(
                session,
                created_at=datetime(2026, 11, day, tzinfo=UTC),
                deadline=date(2026, 12, day),
                source_id=source,
                status=status,
            )
            for day, source, status in [
                (1, "gz-intermediate-court", "RECEIVED"),
                (2, "gz-arbitration", "RECEIVED"),
                (3, "gz-intermediate-court", "ACCEPTED"),
            ]
        ]
        made[1].parties[0].name = "陈小明"
        session.commit()
        numbers = [(case.id, case.case_number, case.court_case_number) for case in made]
    headers = auth("viewer")
    everything = _list(client, headers)
    assert [item["id"] for item in everything["items"]] == [n[0] for n in reversed(numbers)]
    assert everything["total"] == 3
    assert "parties" not in everything["items"][0]

    assert [i["id"] for i in _list(client, headers, status="RECEIVED")["items"]] == [
        numbers[1][0],
        numbers[0][0],
    ]
    assert _list(client, headers, source="gz-arbitration")["total"] == 1
    assert _list(client, headers, due_before="2026-12-02")["items"][0]["id"] == numbers[0][0]
    assert _list(client, headers, q=numbers[2][1])["items"][0]["id"] == numbers[2][0]
    assert _list(client, headers, q=numbers[0][2])["items"][0]["id"] == numbers[0][0]
    assert _list(client, headers, q="小明")["items"][0]["id"] == numbers[1][0]
    assert _list(client, headers, q="100%")["total"] == 0  # wildcards are literal

    page = _list(client, headers, per_page=2, page=2)
    assert (page["total"], page["pages"], page["page"], len(page["items"])) == (3, 2, 2, 1)
    assert page["items"][0]["id"] == numbers[0][0]


@pytest.mark.parametrize(
    "params", [{"status": "OPEN"}, {"per_page": 101}, {"page": 0}, {"due_before": "soon"}]
)
def test_list_refuses_bad_filters(client, auth, params):
    response = client.get("/api/v1/cases", query_string=params, headers=auth("viewer"))
    assert response.status_code == 422
    assert response.mimetype == PROBLEM
    assert response.json["errors"]


def test_if_match_guards_transitions(app, client, auth):
    case_id = new_case(app)
    headers = auth("operator")
    etag = client.get(f"/api/v1/cases/{case_id}", headers=headers).headers["ETag"]
    accepted = client.post(
        f"/api/v1/cases/{case_id}/transitions",
        json={"to": "ACCEPTED"},
        headers={**headers, "If-Match": etag},
    )
    assert accepted.status_code == 200
    assert accepted.headers["ETag"] != etag
    stale = client.post(
        f"/api/v1/cases/{case_id}/transitions",
        json={"to": "IN_MEDIATION"},
        headers={**headers, "If-Match": etag},
    )
    assert stale.status_code == 412
    assert stale.mimetype == PROBLEM
    assert stale.json["current_etag"] == accepted.headers["ETag"]
    fresh = client.post(
        f"/api/v1/cases/{case_id}/transitions",
        json={"to": "IN_MEDIATION"},
        headers={**headers, "If-Match": accepted.headers["ETag"]},
    )
    assert fresh.status_code == 200


def test_deadline_extension_keeps_the_history(app, client, auth):
    case_id = new_case(app)
    headers = auth("operator")
    url = f"/api/v1/cases/{case_id}/deadline"
    response = client.post(
        url, json={"deadline": "2027-01-10", "note": "法院批准延期"}, headers=headers
    )
    assert response.status_code == 200
    assert response.json["deadline"] == "2027-01-10"
    client.post(url, json={"deadline": "2027-01-20"}, headers=headers)
    changes = [
        e["data"]
        for e in client.get(f"/api/v1/cases/{case_id}", headers=headers).json["events"]
        if e["kind"] == "deadline_changed"
    ]
    assert changes == [
        {"old": "2026-12-20", "new": "2027-01-10", "note": "法院批准延期"},
        {"old": "2027-01-10", "new": "2027-01-20"},
    ]


@pytest.mark.parametrize(
    ("status", "body", "code"),
    [
        ("RECEIVED", {"deadline": "2026-12-20"}, 422),  # not later than the current one
        ("RECEIVED", {"deadline": "2026-12-01"}, 422),
        ("RECEIVED", {"deadline": "not a date"}, 422),
        ("RECEIVED", {}, 422),
        ("SETTLED", {"deadline": "2027-01-10"}, 409),
    ],
)
def test_deadline_extension_refusals(app, client, auth, status, body, code):
    case_id = new_case(app, status=status)
    response = client.post(f"/api/v1/cases/{case_id}/deadline", json=body, headers=auth("operator"))
    assert response.status_code == code
    assert response.mimetype == PROBLEM


ROUTES = [
    ("get", "/api/v1/cases", None, "viewer"),
    ("get", "/api/v1/cases/{id}", None, "viewer"),
    ("post", "/api/v1/cases/{id}/transitions", {"to": "ACCEPTED"}, "operator"),
    ("post", "/api/v1/cases/{id}/deadline", {"deadline": "2027-03-01"}, "operator"),
]
RANK = {"viewer": 0, "operator": 1, "admin": 2}


@pytest.mark.parametrize("role", ["viewer", "operator", "admin"])
def test_each_role_gets_exactly_its_access(app, client, auth, role):
    headers = auth(role)
    for method, url, body, needed in ROUTES:
        case_id = new_case(app)
        response = getattr(client, method)(url.format(id=case_id), json=body, headers=headers)
        allowed = RANK[role] >= RANK[needed]
        assert response.status_code == (200 if allowed else 403), (method, url)
        if not allowed:
            assert response.mimetype == PROBLEM


@pytest.mark.parametrize(("method", "url", "body", "_needed"), ROUTES)
def test_every_case_route_needs_a_token(app, client, method, url, body, _needed):
    case_id = new_case(app)
    response = getattr(client, method)(url.format(id=case_id), json=body)
    assert response.status_code == 401
    assert response.mimetype == PROBLEM


def test_viewer_cannot_conclude(app, client, auth):
    case_id = new_case(app, status="IN_MEDIATION")
    response = move(client, auth("viewer"), case_id, "SETTLED", **OUTCOMES["SETTLED"])
    assert response.status_code == 403
    case, reports, events = stored(app, case_id)
    assert (case.status, reports, events) == ("IN_MEDIATION", [], [])
