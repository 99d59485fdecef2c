"""Report bodies: the contract's examples exactly, every report valid against its schema."""

import json
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from lxml import etree

from referral_service.config import PROJECT_ROOT
from referral_service.delivery.render import (
    BUILT_IN_FORMATS,
    ReportInvalid,
    render_report,
    schema_errors,
)
from referral_service.models import Case, CaseEvent
from referral_service.sources.registry import load_source
from tests.conftest import TEST_ENV
from tests.signing import EXAMPLES

SOURCES = PROJECT_ROOT / "config" / "sources"
COURT = load_source(SOURCES / "gz-intermediate-court.toml", TEST_ENV)
ARBITRATION = load_source(SOURCES / "gz-arbitration.toml", TEST_ENV)
REPORT_ID = "01JD7Q2W0R6ZJ3K9V8X4N5M2PA"

OUTCOMES = {
    "SETTLED": {
        "settlement_amount": Decimal("52000"),
        "agreement_number": "ZH-XY-2026-000088",
        "judicial_confirmation_requested": True,
    },
    "NOT_SETTLED": {"reason_code": "NO_AGREEMENT", "reason": "双方对理赔金额分歧较大，调解不成。"},
    "WITHDRAWN": {"reason_code": "APPLICANT_WITHDREW", "reason": "申请人撤回调解申请。"},
    "DECLINED": {"reason_code": "OUT_OF_SCOPE", "reason": "不属于金融消费纠纷。"},
}


def make_case(status: str, **values) -> Case:
    base = {
        "case_number": "ZH-2026-000123",
        "status": status,
        "source_id": "gz-intermediate-court",
        "referral_external_id": "GZZY-WP-2026-000317",
        "court_case_number": "(2026)粤01民诉前调1234号",
        "referral_type": "PRE_LITIGATION",
        "currency": "CNY",
        "deadline": date(2026, 12, 20),
        "concluded_at": datetime(2026, 12, 3, 8, 20, tzinfo=UTC) if status in OUTCOMES else None,
    }
    return Case(**(base | OUTCOMES.get(status, {}) | values))


def make_event(note: str | None = None) -> CaseEvent:
    return CaseEvent(at=datetime(2026, 11, 21, 2, 0, 5, 123456, tzinfo=UTC), data={"note": note})


def test_court_settled_report_is_the_contract_example():
    case = make_case("SETTLED")
    note = "双方达成分期还款协议，银行免除部分违约金和手续费。"
    report = render_report(COURT, case, make_event(note), REPORT_ID)
    assert report.content_type == "application/xml"
    assert report.body == (EXAMPLES / "court-outcome.xml").read_text(encoding="utf-8")


def test_arbitration_not_settled_report_is_the_contract_example():
    example = json.loads((EXAMPLES / "arbitration-outcome.json").read_text(encoding="utf-8"))
    case = make_case(
        "NOT_SETTLED",
        case_number="ZH-2026-000124",
        referral_external_id="GZAC-2026-0456",
        court_case_number="(2026)穗仲案字第4567号",
        concluded_at=datetime(2026, 12, 5, 3, 0, tzinfo=UTC),
    )
    report = render_report(ARBITRATION, case, make_event(), example["report_id"])
    assert report.content_type == "application/json"
    assert json.loads(report.body) == example
    assert list(json.loads(report.body)) == list(example)  # same key order as the example


def test_contract_examples_validate_against_published_schemas():
    court = BUILT_IN_FORMATS["court-outcome/1"].schema
    arbitration = BUILT_IN_FORMATS["arbitration-outcome/1"].schema
    assert schema_errors((EXAMPLES / "court-outcome.xml").read_text(), court) == []
    assert schema_errors((EXAMPLES / "arbitration-outcome.json").read_text(), arbitration) == []


@pytest.mark.parametrize("source", [COURT, ARBITRATION], ids=lambda s: s.report_format)
@pytest.mark.parametrize(
    "status", ["SETTLED", "NOT_SETTLED", "WITHDRAWN", "DECLINED", "ACCEPTED", "IN_MEDIATION"]
)
def test_every_report_validates_against_its_published_schema(source, status):
    case = make_case(status)
    report = render_report(source, case, make_event("备注"), REPORT_ID)
    schema = BUILT_IN_FORMATS[source.report_format].schema
    assert schema_errors(report.body, schema) == []


def _court_elements(body: str) -> list[str]:
    return [etree.QName(e).localname for e in etree.fromstring(body.encode())]


def test_interim_reports_carry_no_conclusion_fields():
    event = make_event("不应出现")
    xml = render_report(COURT, make_case("ACCEPTED"), event, REPORT_ID).body
    assert _court_elements(xml) == [
        "ReportId",
        "ReferralId",
        "CaseNumber",
        "MediationCaseNumber",
        "Status",
        "StatusChangedAt",
    ]
    assert "<StatusChangedAt>2026-11-21T10:00:05+08:00</StatusChangedAt>" in xml
    doc = json.loads(render_report(ARBITRATION, make_case("IN_MEDIATION"), event, REPORT_ID).body)
    assert doc["status"] == "IN_MEDIATION"
    assert doc["status_changed_at"] == "2026-11-21T10:00:05+08:00"
    assert not {"concluded_at", "settlement", "reason_code", "reason"} & set(doc)


def test_refusals_carry_reason_and_no_settlement():
    xml = render_report(COURT, make_case("WITHDRAWN"), make_event(), REPORT_ID).body
    assert _court_elements(xml)[-3:] == ["ConcludedAt", "ReasonCode", "Reason"]
    doc = json.loads(
        render_report(ARBITRATION, make_case("DECLINED"), make_event(), REPORT_ID).body
    )
    assert (doc["settlement"], doc["reason_code"]) == (None, "OUT_OF_SCOPE")


def test_settlement_money_and_time_formats():
    case = make_case(
        "SETTLED", settlement_amount=Decimal("0"), judicial_confirmation_requested=False
    )
    doc = json.loads(render_report(ARBITRATION, case, make_event(), REPORT_ID).body)
    assert doc["settlement"] == {
        "amount": "0.00",
        "currency": "CNY",
        "agreement_number": "ZH-XY-2026-000088",
        "judicial_confirmation_requested": False,
        "note": None,
    }
    assert doc["concluded_at"] == "2026-12-03T16:20:00+08:00"


def test_text_is_escaped_in_xml():
    case = make_case("NOT_SETTLED", reason="<b>甲 & 乙</b>")
    body = render_report(COURT, case, make_event(), REPORT_ID).body
    assert etree.fromstring(body.encode()).findtext("{*}Reason") == "<b>甲 & 乙</b>"


def test_a_report_failing_its_schema_is_refused():
    case = make_case("NOT_SETTLED", reason="x" * 2001)
    with pytest.raises(ReportInvalid) as raised:
        render_report(COURT, case, make_event(), REPORT_ID)
    assert raised.value.status == 422
    assert raised.value.errors


@pytest.mark.parametrize(
    ("body", "why"),
    [
        ("<OutcomeReport/>", "wrong namespace"),
        (
            '<OutcomeReport xmlns="urn:mediation:court-referral:1" version="1">'
            "<ReportId>01JD7Q2W0R6ZJ3K9V8X4N5M2PA</ReportId><ReferralId>R</ReferralId>"
            "<CaseNumber>C</CaseNumber><MediationCaseNumber>ZH-2026-000001</MediationCaseNumber>"
            "<Status>SETTLED</Status><ConcludedAt>2026-12-03T16:20:00+08:00</ConcludedAt>"
            "</OutcomeReport>",
            "final report without its outcome",
        ),
        (
            '<OutcomeReport xmlns="urn:mediation:court-referral:1" version="1">'
            "<ReportId>01JD7Q2W0R6ZJ3K9V8X4N5M2PA</ReportId><ReferralId>R</ReferralId>"
            "<CaseNumber>C</CaseNumber><MediationCaseNumber>ZH-2026-000001</MediationCaseNumber>"
            "<Status>ACCEPTED</Status><StatusChangedAt>2026-12-03T16:20:00</StatusChangedAt>"
            "</OutcomeReport>",
            "time without offset",
        ),
    ],
)
def test_court_schema_rejects_malformed_reports(body, why):
    assert schema_errors(body, BUILT_IN_FORMATS["court-outcome/1"].schema), why


def test_arbitration_schema_rejects_a_settlement_on_a_refusal():
    doc = json.loads((EXAMPLES / "arbitration-outcome.json").read_text())
    doc["settlement"] = {"amount": "1.00", "currency": "CNY"}
    assert schema_errors(json.dumps(doc), BUILT_IN_FORMATS["arbitration-outcome/1"].schema)
