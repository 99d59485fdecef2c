"""POST /api/v1/sources/{id}/referrals: every row of the contract's outcome table, on
SQLite and PostgreSQL, with what is stored for each push."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import selectinload

from referral_service import create_app, crypto, db
from referral_service.cases import opening
from referral_service.cases.lifecycle import transition
from referral_service.intake import service
from referral_service.localtime import LOCAL_TZ
from referral_service.models import Case, CaseEvent, InboundMessage, Referral, Report
from tests.conftest import make_settings
from tests.signing import ARBITRATION, COURT, example, push, secret, signed

PROBLEM = "application/problem+json"
REFERRAL = example("court-referral.xml")
RECALL = example("court-recall.xml")
ARBITRATION_REFERRAL = example("arbitration-referral.json")


def url(source_id: str = COURT) -> str:
    return f"/api/v1/sources/{source_id}/referrals"


def messages(app) -> list[InboundMessage]:
    with app.app_context():
        return list(db.session().scalars(select(InboundMessage).order_by(InboundMessage.id)))


def one_case(app) -> Case:
    with app.app_context():
        return (
            db.session()
            .scalars(select(Case).options(selectinload(Case.parties), selectinload(Case.events)))
            .one()
        )


def revised(body: bytes, revision: int, **replacements: str) -> bytes:
    text = body.decode().replace("<Revision>1</Revision>", f"<Revision>{revision}</Revision>")
    for old, new in replacements.items():
        text = text.replace(old, new)
    return text.encode()


# --- accepted -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source_id", "body", "referral_id"),
    [
        (COURT, REFERRAL, "GZZY-WP-2026-000317"),
        (ARBITRATION, ARBITRATION_REFERRAL, "GZAC-2026-0456"),
    ],
)
def test_contract_example_opens_a_case(app, client, source_id, body, referral_id):
    response = push(client, source_id, body)
    assert response.status_code == 201, response.json
    assert response.json["referral_id"] == referral_id
    assert response.json["source"] == source_id
    assert response.json["status"] == "RECEIVED"
    year = datetime.now(UTC).astimezone(LOCAL_TZ).year
    assert response.json["case_number"] == f"ZH-{year}-000001"
    case = one_case(app)
    assert case.id == response.json["case_id"]
    assert [p.side for p in case.parties] == ["CLAIMANT", "RESPONDENT"]
    assert not case.flagged
    [message] = messages(app)
    assert (message.outcome, message.http_status) == ("created", 201)
    assert message.body == body
    assert message.response == response.json
    assert "webhook-signature" not in message.headers
    assert message.headers["webhook-id"] == message.webhook_id


def test_court_referral_fields_land_on_the_case(app, client):
    push(client, COURT, REFERRAL)
    case = one_case(app)
    assert case.court_case_number == "(2026)粤01民诉前调1234号"
    assert case.category == "CREDIT_CARD"
    assert case.referral_type == "PRE_LITIGATION"
    assert str(case.claim_amount) == "58210.35"
    assert case.deadline.isoformat() == "2026-12-20"
    assert case.referred_at == datetime(2026, 11, 20, 1, 30, tzinfo=UTC)
    assert case.clerk == {"name": "王书记员", "phone": "020-83000000"}
    assert case.attachments[0]["name"] == "起诉状.pdf"
    plaintiff = case.parties[0]
    assert plaintiff.id_number == "440106198503151233"
    assert plaintiff.id_number_hash == crypto.keyring().search_hash("440106198503151233")
    assert [e.kind for e in case.events] == ["received"]


def test_personal_data_is_encrypted_at_rest(app, client):
    push(client, COURT, REFERRAL)
    with app.app_context():
        raw = db.session().execute(text("SELECT id_number, phone, address FROM parties"))
        stored = " ".join(str(value) for row in raw for value in row)
        raw_body = db.session().execute(text("SELECT body FROM inbound_messages")).scalar_one()
    assert "440106198503151233" not in stored and "13800138000" not in stored
    assert "体育西路" not in stored
    assert b"440106198503151233" not in bytes(raw_body)


def test_default_deadline_is_30_days_pre_litigation_15_in_litigation(app, client):
    body = REFERRAL.replace(b"<Deadline>2026-12-20</Deadline>", b"")
    assert push(client, COURT, body).status_code == 201
    in_litigation = body.replace(b"PRE_LITIGATION", b"IN_LITIGATION").replace(
        b"GZZY-WP-2026-000317", b"GZZY-WT-2026-000001"
    )
    assert push(client, COURT, in_litigation).status_code == 201
    with app.app_context():
        deadlines = db.session().scalars(select(Case.deadline).order_by(Case.id)).all()
    assert [d.isoformat() for d in deadlines] == ["2026-12-20", "2026-12-05"]


def test_data_quality_faults_are_accepted_with_masked_warnings(app, client):
    body = (
        REFERRAL.replace(b"440106198503151233", b"440106198503151234")
        .replace(b"91440101MA59ABC124", b"91440101MA59ABC125")
        .replace(b"13800138000", b"1380013800")
    )
    response = push(client, COURT, body)
    assert response.status_code == 201
    warnings = {w["field"]: w for w in response.json["warnings"]}
    assert set(warnings) == {"/parties/0/id_number", "/parties/1/id_number", "/parties/0/phone"}
    assert warnings["/parties/0/id_number"]["value"] == "440106********1234"
    assert warnings["/parties/0/id_number"]["path"] == "/c:Referral/c:Parties/c:Party[1]/c:IdNumber"
    assert "440106198503151234" not in response.get_data(as_text=True)
    case = one_case(app)
    assert case.flagged
    assert case.warnings == response.json["warnings"]


@pytest.mark.parametrize(
    ("scheme", "number"), [("RESIDENT_ID", "440106850315123"), ("PASSPORT", "E12345678")]
)
def test_legacy_ids_pass_and_unknown_schemes_warn(client, scheme, number):
    body = REFERRAL.replace(
        b'scheme="RESIDENT_ID">440106198503151233', f'scheme="{scheme}">{number}'.encode()
    )
    response = push(client, COURT, body)
    assert response.status_code == 201
    fields = [w["field"] for w in response.json.get("warnings", [])]
    assert fields == ([] if scheme == "RESIDENT_ID" else ["/parties/0/id_number"])


# --- idempotency and revisions ---------------------------------------------------------


def test_same_referral_again_is_200_with_the_same_body(app, client):
    first = push(client, COURT, REFERRAL)
    again = push(client, COURT, REFERRAL)
    assert again.status_code == 200
    assert again.json == first.json
    assert len(messages(app)) == 2
    assert messages(app)[1].outcome == "duplicate"
    with app.app_context():
        assert len(db.session().scalars(select(Case)).all()) == 1


def test_higher_revision_amends_the_case_and_keeps_deadline_history(app, client):
    first = push(client, COURT, REFERRAL)
    amended = revised(REFERRAL, 2, **{"2026-12-20": "2027-01-10", "58210.35": "60000.00"})
    response = push(client, COURT, amended)
    assert response.status_code == 200
    assert response.json["case_id"] == first.json["case_id"]
    assert response.json["revision"] == 2
    case = one_case(app)
    assert case.deadline.isoformat() == "2027-01-10"
    assert str(case.claim_amount) == "60000.00"
    kinds = {e.kind: e.data for e in case.events}
    assert kinds["amended"]["from_revision"] == 1 and kinds["amended"]["to_revision"] == 2
    assert set(kinds["amended"]["changed"]) == {"deadline", "claim_amount"}
    assert kinds["deadline_changed"]["old"] == "2026-12-20"
    assert kinds["deadline_changed"]["new"] == "2027-01-10"
    assert push(client, COURT, amended).json == response.json  # a repeat of revision 2


@pytest.mark.parametrize("revision", [2, 1])
def test_same_or_lower_revision_with_different_content_is_409(app, client, revision):
    push(client, COURT, revised(REFERRAL, 2))
    response = push(client, COURT, revised(REFERRAL, revision, 原告因经营困难="原告"))
    assert response.status_code == 409
    assert response.mimetype == PROBLEM
    assert response.json["current_revision"] == 2
    assert messages(app)[-1].outcome == "conflict"
    assert messages(app)[-1].problem["status"] == 409


# --- recall ------------------------------------------------------------------------------


def test_recall_moves_the_case_to_recalled(app, client):
    push(client, COURT, REFERRAL)
    response = push(client, COURT, RECALL)
    assert response.status_code == 200
    assert response.json["status"] == "RECALLED"
    case = one_case(app)
    assert case.status == "RECALLED"
    event = case.events[-1]
    assert (event.to_status, event.actor) == ("RECALLED", f"source:{COURT}")
    assert event.data["reason"] == "原告撤回起诉"
    assert messages(app)[-1].outcome == "recalled"
    with app.app_context():
        assert db.session().scalars(select(Report)).all() == []  # nothing is reported back


def test_recall_of_an_unknown_referral_is_404(app, client):
    response = push(client, COURT, RECALL)
    assert response.status_code == 404
    assert response.mimetype == PROBLEM
    assert messages(app)[0].body == RECALL


def test_recall_of_a_concluded_case_is_409(app, client):
    push(client, COURT, REFERRAL)
    with app.app_context():
        session = db.session()
        case = session.scalars(select(Case)).one()
        transition(
            session,
            case,
            "DECLINED",
            actor="test",
            data={"reason_code": "OUT_OF_SCOPE", "reason": "x"},
        )
        session.commit()
    response = push(client, COURT, RECALL)
    assert response.status_code == 409
    assert response.mimetype == PROBLEM


# --- refusals -------------------------------------------------------------------------------


def test_malformed_xml_is_400_with_line_and_column(app, client):
    response = push(client, COURT, b"<?xml version='1.0'?>\n<Referral>\n  <ReferralId>x</Referral>")
    assert response.status_code == 400
    assert response.mimetype == PROBLEM
    assert response.json["line"] == 3
    assert response.json["column"] > 0
    assert messages(app)[0].outcome == "malformed"


def test_malformed_json_is_400_with_line_and_column(client):
    response = push(client, ARBITRATION, b'{\n  "referral_id": "x",\n  oops\n}')
    assert response.status_code == 400
    assert (response.json["line"], response.json["column"]) == (3, 3)


def test_invalid_xml_lists_every_failing_field_with_its_path(app, client):
    body = revised(
        REFERRAL,
        1,
        **{
            "<CaseNumber>(2026)粤01民诉前调1234号</CaseNumber>": "",
            "2026-12-20": "2026-12-40",
            "58210.35": "-5.00",
            'role="DEFENDANT"': 'role="PLAINTIFF"',
        },
    )
    response = push(client, COURT, body)
    assert response.status_code == 422
    assert response.mimetype == PROBLEM
    paths = {e["path"] for e in response.json["errors"]}
    assert {
        "/c:Referral/c:CaseNumber",
        "/c:Referral/c:Deadline",
        "/c:Referral/c:ClaimAmount",
        "/c:Referral/c:Parties/c:Party",
    } <= paths
    assert any("each side" in e["message"] for e in response.json["errors"])
    assert messages(app)[0].outcome == "invalid"
    assert messages(app)[0].body == body
    with app.app_context():
        assert db.session().scalars(select(Case)).all() == []


def test_unknown_json_fields_are_422(client):
    doc = json.loads(ARBITRATION_REFERRAL)
    doc["refferal_note"] = "typo"
    doc["parties"][0]["nmae"] = "typo"
    response = push(client, ARBITRATION, json.dumps(doc).encode())
    assert response.status_code == 422
    paths = [e["path"] for e in response.json["errors"]]
    assert "/refferal_note" in paths and "/parties/0/nmae" in paths


@pytest.mark.parametrize(
    "change",
    [
        {"webhook-signature": "v1,AAAA"},
        {"webhook-signature": "v1,not base64!"},
        {"webhook-signature": "garbage-without-comma"},
        {"webhook-timestamp": "yesterday"},
        {"webhook-id": None},
    ],
)
def test_bad_signatures_are_401_and_store_no_body(app, client, change):
    headers = signed(COURT, REFERRAL)
    for name, value in change.items():
        headers.pop(name)
        if value is not None:
            headers[name] = value
    response = client.post(url(), data=REFERRAL, headers=headers)
    assert response.status_code == 401
    assert response.mimetype == PROBLEM
    assert secret(COURT) not in response.get_data(as_text=True)
    [message] = messages(app)
    assert (message.outcome, message.body, message.http_status) == ("unauthorized", None, 401)


def test_stale_timestamp_is_401(client):
    old = datetime.now(UTC) - timedelta(minutes=6)
    response = push(client, COURT, REFERRAL, timestamp=old)
    assert response.status_code == 401
    assert "seconds from now" in response.json["detail"]


@pytest.mark.parametrize("minutes", [-2, 2], ids=["past", "future"])
def test_the_configured_replay_window_is_the_one_applied(database_url, minutes):
    app = create_app(make_settings(database_url, intake={"timestamp_tolerance_seconds": 60}))
    two_minutes_off = datetime.now(UTC) + timedelta(minutes=minutes)
    response = push(app.test_client(), COURT, REFERRAL, timestamp=two_minutes_off)
    app.extensions["db"].engine.dispose()
    assert response.status_code == 401
    assert "60 seconds from now" in response.json["detail"]


def test_any_one_matching_signature_is_enough(client):
    headers = signed(COURT, REFERRAL)
    headers["webhook-signature"] = (
        "v1,c2lnbmVkIHdpdGggYW4gb2xkIHNlY3JldA== " + headers["webhook-signature"]
    )
    assert client.post(url(), data=REFERRAL, headers=headers).status_code == 201


def test_signature_by_another_source_is_401(client):
    headers = signed(ARBITRATION, REFERRAL, content_type="application/xml")
    assert client.post(url(), data=REFERRAL, headers=headers).status_code == 401


def test_unknown_source_is_404_and_stored_without_body(app, client):
    response = client.post(url("no-such-court"), data=REFERRAL, headers=signed(COURT, REFERRAL))
    assert response.status_code == 404
    assert response.mimetype == PROBLEM
    [message] = messages(app)
    assert (message.source_id, message.outcome, message.body) == (
        "no-such-court",
        "unknown_source",
        None,
    )


def test_wrong_content_type_is_415(app, client):
    response = push(client, COURT, REFERRAL, content_type="application/json")
    assert response.status_code == 415
    assert response.mimetype == PROBLEM
    assert messages(app)[0].outcome == "unsupported_media_type"


def test_body_over_the_limit_is_413(app, client):
    big = REFERRAL + b" " * (1024 * 1024)
    response = push(client, COURT, big)
    assert response.status_code == 413
    assert response.mimetype == PROBLEM
    [message] = messages(app)
    assert (message.outcome, message.body, message.body_size) == ("too_large", None, len(big))


def test_chunked_body_over_the_limit_is_413(client):
    big = REFERRAL + b" " * (1024 * 1024)
    headers = signed(COURT, big)
    headers["Transfer-Encoding"] = "chunked"
    response = client.post(
        url(),
        input_stream=io.BytesIO(big),
        headers=headers,
        # the test client would add a Content-Length; a chunked request has none
        environ_overrides={"wsgi.input_terminated": True, "CONTENT_LENGTH": ""},
    )
    assert response.status_code == 413


def test_database_outage_is_503_with_retry_after():
    app = create_app(make_settings("postgresql+psycopg://nobody@127.0.0.1:1/none"))
    response = push(app.test_client(), COURT, REFERRAL)
    assert response.status_code == 503
    assert response.mimetype == PROBLEM
    assert response.headers["Retry-After"]


def test_an_unexpected_failure_keeps_the_message_for_replay(app, client, monkeypatch):
    def broken(*args, **kwargs):
        opening.apply_referral(*args, **kwargs)  # the case is written, then something breaks
        raise RuntimeError("mapping bug near 440106198503151233")

    monkeypatch.setattr(service, "apply_referral", broken)
    response = push(client, COURT, REFERRAL)
    assert response.status_code == 500
    assert response.mimetype == PROBLEM
    assert "mapping bug" not in response.get_data(as_text=True)
    [message] = messages(app)
    assert (message.outcome, message.http_status, message.body) == ("error", 500, REFERRAL)
    assert "mapping bug" not in json.dumps(message.problem)
    with app.app_context():
        assert db.session().scalars(select(Case)).all() == []  # no partial write


# --- bearer sources -------------------------------------------------------------------------


@pytest.fixture
def bearer_app(database_url, tmp_path, monkeypatch):
    from referral_service.sources.registry import load_source
    from tests.conftest import TEST_ENV

    path = tmp_path / "gz-bearer-court.toml"
    path.write_text(
        'id = "gz-bearer-court"\nname = "Bearer court"\nkind = "court"\n'
        'format = "court-referral/1"\nmapping = "court-referral-1"\nauth = "bearer"\n'
        'report_format = "court-outcome/1"\n',
        encoding="utf-8",
    )
    env = {**TEST_ENV, "REFERRAL_SOURCE_GZ_BEARER_COURT_TOKEN": "s3cret-token"}
    app = create_app(make_settings(database_url))
    app.extensions["sources"].add(load_source(path, env))
    yield app
    app.extensions["db"].engine.dispose()


@pytest.mark.parametrize(("token", "status"), [("s3cret-token", 201), ("wrong", 401), (None, 401)])
def test_bearer_source(bearer_app, token, status):
    headers = {"Content-Type": "application/xml"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    response = bearer_app.test_client().post(url("gz-bearer-court"), data=REFERRAL, headers=headers)
    assert response.status_code == status
    stored = messages(bearer_app)[0]
    assert "authorization" not in stored.headers


# --- replay ---------------------------------------------------------------------------------


def test_replay_runs_a_stored_message_again(app, client, auth):
    push(client, COURT, RECALL)  # 404: the referral has not arrived yet
    push(client, COURT, REFERRAL)
    original = messages(app)[0]
    response = client.post(f"/api/v1/inbound/{original.id}/replay", headers=auth("operator"))
    assert response.status_code == 200
    assert response.json["outcome"] == "recalled"
    assert response.json["replay_of_id"] == original.id
    stored = {m.id: m for m in messages(app)}
    assert stored[original.id].replay_count == 1
    assert stored[response.json["id"]].replay_of_id == original.id
    assert one_case(app).status == "RECALLED"


def test_replay_of_a_message_without_body_is_409(app, client, auth):
    client.post(url(), data=REFERRAL, headers={"Content-Type": "application/xml"})
    message = messages(app)[0]
    response = client.post(f"/api/v1/inbound/{message.id}/replay", headers=auth("operator"))
    assert response.status_code == 409
    assert response.mimetype == PROBLEM


def test_replay_needs_the_operator_role(app, client, auth):
    push(client, COURT, REFERRAL)
    message = messages(app)[0]
    assert (
        client.post(f"/api/v1/inbound/{message.id}/replay", headers=auth("viewer")).status_code
        == 403
    )
    assert client.post("/api/v1/inbound/nope/replay", headers=auth("operator")).status_code == 404


def test_referral_row_remembers_its_first_response(app, client):
    first = push(client, COURT, REFERRAL)
    with app.app_context():
        referral = db.session().scalars(select(Referral)).one()
        assert referral.response == first.json
        assert referral.canonical["referral_id"] == "GZZY-WP-2026-000317"
        assert db.session().scalars(select(CaseEvent)).one().kind == "received"
