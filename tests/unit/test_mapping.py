"""The declarative mapping engine: transforms, code tables, defaults, config errors, and
the `mapping check` dry run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from referral_service.config import PROJECT_ROOT, ConfigError
from referral_service.intake.parsing import parse
from referral_service.mapping import load_mapping
from referral_service.mapping.check import mapping_group
from referral_service.mapping.engine import Mapping
from referral_service.mapping.transforms import TransformError, amount, to_date, to_datetime
from tests.signing import example

TIANHE_BATCH = PROJECT_ROOT / "config" / "sources" / "examples" / "gz-tianhe-court-referrals.xml"


@pytest.mark.parametrize("text", ["58,210.35", "58210.35元", "¥58,210.35", " 58210.35 "])
def test_amount_spellings(text):
    assert amount(text, {}) == "58210.35"


def test_amount_refuses_words():
    with pytest.raises(TransformError, match="not a decimal amount"):
        amount("五万元", {})


def test_dates_and_times_with_formats_and_zones():
    assert to_date("2026年12月20日", {"format": "%Y年%m月%d日"}) == "2026-12-20"
    naive = {"format": "%Y-%m-%d %H:%M:%S", "timezone": "Asia/Shanghai"}
    assert to_datetime("2026-11-20 09:30:00", naive) == "2026-11-20T09:30:00+08:00"
    with pytest.raises(TransformError, match="without an offset"):
        to_datetime("2026-11-20T09:30:00", {})


def mapped(name: str, body: bytes):
    mapping = load_mapping(name)
    return mapping.evaluate(parse(body, mapping.syntax))


@pytest.mark.parametrize(
    ("mapping", "example_name", "kind"),
    [
        ("court-referral-1", "court-referral.xml", "referral"),
        ("court-referral-1", "court-recall.xml", "recall"),
        ("arbitration-referral-1", "arbitration-referral.json", "referral"),
    ],
)
def test_contract_examples_map_cleanly(mapping, example_name, kind):
    [record], loose = mapped(mapping, example(example_name))
    assert loose == [] and record.errors == [] and record.warnings == []
    assert record.kind == kind


def test_court_and_arbitration_give_the_same_canonical_shape():
    [court], _ = mapped("court-referral-1", example("court-referral.xml"))
    [arbitration], _ = mapped("arbitration-referral-1", example("arbitration-referral.json"))
    assert set(arbitration.data) <= set(court.data)
    assert court.data["claim"] == {"amount": "58210.35", "currency": "CNY"}
    assert arbitration.data["referral_type"] == "ARBITRATION"
    assert arbitration.data["parties"][0]["role"] == "APPLICANT"


def test_cause_of_action_codes_map_to_categories():
    body = example("court-referral.xml").replace(
        b'code="CREDIT_CARD"', 'code="储蓄存款合同纠纷"'.encode()
    )
    assert mapped("court-referral-1", body)[0][0].data["category"] == "DEPOSIT"
    body = example("court-referral.xml").replace(b'code="CREDIT_CARD"', b'code="9999"')
    assert mapped("court-referral-1", body)[0][0].data["category"] == "OTHER"


def test_missing_fields_name_where_they_were_looked_for():
    body = (
        example("court-referral.xml")
        .replace(b"<CaseNumber>", b"<!--")
        .replace(b"</CaseNumber>", b"-->")
    )
    [record], _ = mapped("court-referral-1", body)
    paths = {(e.path, e.field) for e in record.errors}
    assert ("/c:Referral/c:CaseNumber", "/case_number") in paths


def test_batch_records_are_separate():
    records, loose = mapped("gz-tianhe-court-1", TIANHE_BATCH.read_bytes())
    assert loose == []
    assert [r.path for r in records] == ["/t:批量移送/t:案件[1]", "/t:批量移送/t:案件[2]"]
    assert records[1].data["claim"]["amount"] == "12000.00"


def test_a_constant_alone_does_not_make_a_group_present():
    body = TIANHE_BATCH.read_text().replace("<标的金额>12000元</标的金额>", "").encode()
    records, _ = mapped("gz-tianhe-court-1", body)
    assert "claim" not in records[1].data and records[1].errors == []


def test_wrong_root_is_reported_with_where_records_were_expected():
    records, loose = mapped("court-referral-1", b'<Other xmlns="urn:mediation:court-referral:1"/>')
    assert records == []
    assert any("/c:Referral or /c:Recall" in f.message for f in loose)


BASE = {
    "syntax": "xml",
    "namespaces": {"c": "urn:x"},
    "referral": {"records": "/c:R", "fields": {"referral_id": "c:Id"}},
}


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"syntax": "yaml"}, "syntax"),
        (
            {"referral": {"records": "/c:R", "fields": {"referral_id": "c:Id["}}},
            "referral.fields.referral_id",
        ),
        (
            {
                "referral": {
                    "records": "/c:R",
                    "fields": {"x": {"path": "c:X", "transform": "nope"}},
                }
            },
            "referral.fields.x.transform",
        ),
        (
            {"referral": {"records": "/c:R", "fields": {"x": {"path": "c:X", "codes": "nope"}}}},
            "referral.fields.x.codes",
        ),
        (
            {"referral": {"records": "/c:R", "fields": {"x": {"path": "c:X", "pth": "y"}}}},
            "referral.fields.x.pth",
        ),
        ({"deadline_days": {"PRE_LITIGATION": -1}}, "deadline_days.PRE_LITIGATION"),
        ({"schema": "missing.xsd"}, "schema"),
        ({"recal": {}}, "recal"),
    ],
)
def test_bad_mapping_config_names_file_and_key(change, key):
    with pytest.raises(ConfigError) as caught:
        Mapping({**BASE, **change}, "config/mappings/x.toml")
    assert str(caught.value).startswith(f"config/mappings/x.toml: {key}:")


def test_source_with_a_missing_mapping_fails_at_load(tmp_path: Path):
    from referral_service.sources.registry import load_source
    from tests.conftest import TEST_ENV

    path = tmp_path / "gz-intermediate-court.toml"
    path.write_text(
        'id = "gz-intermediate-court"\nname = "x"\nkind = "court"\nformat = "f"\n'
        'mapping = "no-such-mapping"\nreport_format = "court-outcome/1"\n',
        encoding="utf-8",
    )
    with pytest.raises(
        ConfigError, match=r"gz-intermediate-court\.toml: mapping: 'no-such-mapping'"
    ):
        load_source(path, TEST_ENV)


def test_a_mapping_may_be_an_inline_table():
    inline = {**BASE, "referral": {"records": "/c:R", "fields": {"referral_id": "c:Id"}}}
    [record], _ = load_mapping(inline).evaluate(parse(b'<R xmlns="urn:x"><Id>7</Id></R>', "xml"))
    assert record.referral_id == "7"
    assert {e.field for e in record.errors} >= {"/case_number", "/parties"}


def test_mappings_are_compiled_once():
    assert load_mapping("court-referral-1") is load_mapping("court-referral-1")


def run_check(source: str, file: Path):
    return CliRunner().invoke(mapping_group, ["check", source, str(file)])


def test_mapping_check_prints_canonical_referrals():
    result = run_check("gz-tianhe-court", TIANHE_BATCH)
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["ok"] is True
    assert [r["canonical"]["referral_id"] for r in report["records"]] == [
        "THFY-2026-0088",
        "THFY-2026-0089",
    ]


def test_mapping_check_points_at_the_message_and_the_mapping_key(tmp_path):
    bad = tmp_path / "bad.xml"
    bad.write_text(
        TIANHE_BATCH.read_text().replace(
            '诉讼地位="被告" 类型="法人"', '诉讼地位="被告人" 类型="法人"'
        ),
        encoding="utf-8",
    )
    result = run_check(str(PROJECT_ROOT / "config/sources/examples/gz-tianhe-court.toml"), bad)
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    [error] = report["records"][1]["errors"]
    assert error["path"] == "/t:批量移送/t:案件[2]/t:当事人[2]/@诉讼地位"
    assert error["mapping_key"] == "referral.fields.parties.fields.role"
    assert "原告, 被告, 第三人" in error["message"]
    assert error["line"] > 0


def test_mapping_check_reports_malformed_files(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"referral_id": ', encoding="utf-8")
    result = run_check("gz-arbitration", bad)
    assert result.exit_code == 1
    assert json.loads(result.stdout)["errors"][0]["line"] == 1
