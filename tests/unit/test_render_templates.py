"""Report formats a court agrees with the centre: Jinja2 XML templates and JSON field maps."""

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from lxml import etree

from referral_service.config import PROJECT_ROOT, ConfigError
from referral_service.delivery.render import ReportInvalid, ReportTemplateFailed, render_report
from referral_service.sources.registry import load_source
from tests.conftest import TEST_ENV
from tests.unit.test_render import REPORT_ID, make_case, make_event

EXAMPLES_DIR = PROJECT_ROOT / "config" / "sources" / "examples"
TIANHE_NS = "{urn:tianhe-court:outcome:1}"


def write_source(directory: Path, report: str, source_id: str = "gz-tianhe-court") -> Path:
    path = directory / f"{source_id}.toml"
    path.write_text(
        f'id = "{source_id}"\nname = "广州市天河区人民法院"\nkind = "court"\n'
        f'format = "court-referral/1"\nmapping = "court-referral-1"\n'
        f'report_format = "gz-tianhe-outcome/1"\n{report}',
        encoding="utf-8",
    )
    return path


def tianhe_source():
    return load_source(EXAMPLES_DIR / "gz-tianhe-court.toml", TEST_ENV)


def test_tianhe_court_gets_its_chinese_outcome_xml():
    case = make_case("SETTLED", judicial_confirmation_requested=False)
    report = render_report(tianhe_source(), case, make_event("分期还款"), REPORT_ID)
    assert report.content_type == "application/xml"
    root = etree.fromstring(report.body.encode())
    assert root.tag == f"{TIANHE_NS}调解结果报告"
    assert root.findtext(f"{TIANHE_NS}状态") == "调解成功"
    assert root.find(f"{TIANHE_NS}状态").get("代码") == "SETTLED"
    assert root.findtext(f"{TIANHE_NS}结案时间") == "2026-12-03T16:20:00+08:00"
    assert root.findtext(f"{TIANHE_NS}调解金额") == "52000.00"
    assert root.findtext(f"{TIANHE_NS}申请司法确认") == "否"
    assert root.findtext(f"{TIANHE_NS}备注") == "分期还款"


@pytest.mark.parametrize(
    "status", ["SETTLED", "NOT_SETTLED", "WITHDRAWN", "DECLINED", "ACCEPTED", "IN_MEDIATION"]
)
def test_tianhe_reports_validate_against_the_agreed_schema(status):
    # render_report validates against the schema named in the config, or raises
    report = render_report(tianhe_source(), make_case(status), make_event(), REPORT_ID)
    assert "<?xml" in report.body


def test_template_output_is_xml_escaped():
    case = make_case("NOT_SETTLED", reason='</原因说明><注入 a="1">&')
    body = render_report(tianhe_source(), case, make_event(), REPORT_ID).body
    assert etree.fromstring(body.encode()).findtext(f"{TIANHE_NS}原因说明") == (
        '</原因说明><注入 a="1">&'
    )


def test_rendering_that_fails_the_configured_schema_is_refused():
    case = make_case("NOT_SETTLED", reason="x" * 2001)  # the court's schema allows 2000
    with pytest.raises(ReportInvalid):
        render_report(tianhe_source(), case, make_event(), REPORT_ID)


def test_template_error_at_render_time_is_a_clear_problem(tmp_path):
    (tmp_path / "t.xml.j2").write_text("<r>{{ no_such_field }}</r>")
    source = load_source(write_source(tmp_path, '[report]\ntemplate = "t.xml.j2"\n'), TEST_ENV)
    with pytest.raises(ReportTemplateFailed) as raised:
        render_report(source, make_case("SETTLED"), make_event(), REPORT_ID)
    assert "no_such_field" in raised.value.detail


def test_template_without_schema_must_still_be_well_formed(tmp_path):
    (tmp_path / "t.xml.j2").write_text("<r>{{ status }}</x>")
    source = load_source(write_source(tmp_path, '[report]\ntemplate = "t.xml.j2"\n'), TEST_ENV)
    with pytest.raises(ReportInvalid):
        render_report(source, make_case("SETTLED"), make_event(), REPORT_ID)


def test_json_field_map(tmp_path):
    report = (
        '[report]\ncontent_type = "application/json"\n[report.fields]\n'
        '"format" = { const = "x-outcome/1" }\n"id" = "report_id"\n'
        '"result.status" = "status"\n"result.amount" = "settlement_amount"\n'
    )
    source = load_source(write_source(tmp_path, report), TEST_ENV)
    body = render_report(source, make_case("SETTLED"), make_event(), REPORT_ID).body
    assert json.loads(body) == {
        "format": "x-outcome/1",
        "id": REPORT_ID,
        "result": {"status": "SETTLED", "amount": "52000.00"},
    }


@pytest.mark.parametrize(
    ("report", "message"),
    [
        ('[report]\ntemplate = "missing.xml.j2"\n', "template file not found"),
        ('[report]\ntemplate = "t.xml.j2"\nschema = "missing.xsd"\n', "schema file not found"),
        ('[report]\ntemplate = "broken.xml.j2"\n', "is not valid"),
        ('[report]\ntemplate = "t.xml.j2"\nschema = "broken.xsd"\n', "is not valid"),
        ('[report]\ntemplate = "t.xml.j2"\ncontent_type = "application/json"\n', "use 'fields'"),
        ('[report]\ncontent_type = "application/xml"\n', "exactly one of"),
        ('[report]\n[report.fields]\n"a" = "no_such_field"\n', "no_such_field"),
        ('[report]\ntemplat = "t.xml.j2"\n', "unknown keys"),
        ("", "not built in"),
    ],
)
def test_report_config_is_checked_at_load(tmp_path, report, message):
    (tmp_path / "t.xml.j2").write_text("<r/>")
    (tmp_path / "broken.xml.j2").write_text("<r>{% if %}</r>")
    (tmp_path / "broken.xsd").write_text("<not-a-schema/>")
    with pytest.raises(ConfigError, match=message) as raised:
        load_source(write_source(tmp_path, report), TEST_ENV)
    assert "gz-tianhe-court.toml" in str(raised.value)


def test_published_examples_render_at_a_fixed_time():
    event = make_event()
    event.at = datetime(2026, 11, 30, 16, 0, tzinfo=UTC)
    body = render_report(tianhe_source(), make_case("ACCEPTED"), event, REPORT_ID).body
    assert "<状态变更时间>2026-12-01T00:00:00+08:00</状态变更时间>" in body
