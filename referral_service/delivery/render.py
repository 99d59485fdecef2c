"""Report bodies: rendered once, when the case changes state, and validated before storing.

Built-in formats: `court-outcome/1` (XML, `schemas/court-outcome-1.xsd`) and
`arbitration-outcome/1` (JSON, `schemas/arbitration-outcome-1.json`). A final report
carries `ConcludedAt` and the outcome (settlement, or reason code and reason); an interim
report (ACCEPTED, IN_MEDIATION) carries `StatusChangedAt` and no conclusion fields.

A source may agree its own format instead, in its `[report]` table (paths relative to the
source file's folder):

    [report]
    template = "templates/x.xml.j2"      # Jinja2, XML autoescaped, sandboxed
    content_type = "application/xml"
    schema = "schemas/x.xsd"             # optional: XSD or JSON Schema to validate against

or, for JSON, a declarative field map (dotted output path -> report field, or a constant):

    [report]
    content_type = "application/json"
    [report.fields]
    "id" = "report_id"
    "result.status" = "status"
    "format" = { const = "x-outcome/1" }

Templates and field maps see the fields of `report_fields()` (and, in templates, `case`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2
import jsonschema
from jinja2.sandbox import SandboxedEnvironment
from lxml import etree

from referral_service.config import PROJECT_ROOT, ConfigError
from referral_service.errors import ProblemError
from referral_service.localtime import local_iso
from referral_service.masking import mask_text
from referral_service.models import Case, CaseEvent

if TYPE_CHECKING:
    from referral_service.sources.registry import Source

SCHEMAS_DIR = PROJECT_ROOT / "schemas"
COURT_NS = "urn:mediation:court-referral:1"
REPORTED_FINAL_STATES = ("SETTLED", "NOT_SETTLED", "WITHDRAWN", "DECLINED")
REPORT_FIELDS = (
    "report_id",
    "referral_id",
    "case_number",
    "mediation_case_number",
    "status",
    "final",
    "concluded_at",
    "status_changed_at",
    "settlement_amount",
    "currency",
    "agreement_number",
    "judicial_confirmation_requested",
    "note",
    "reason_code",
    "reason",
)
_REPORT_KEYS = {"template", "fields", "content_type", "schema"}
_XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'


@dataclass(frozen=True)
class RenderedReport:
    """A report body ready to store and send."""

    content_type: str
    body: str


def _money(amount: Decimal | None) -> str | None:
    return None if amount is None else str(amount.quantize(Decimal("0.01")))


def report_fields(case: Case, event: CaseEvent, report_id: str) -> dict[str, Any]:
    """The values a report states, as strings, booleans or None, from the case right now."""
    final = case.status in REPORTED_FINAL_STATES
    settled = case.status == "SETTLED"
    reasoned = final and not settled
    return {
        "report_id": report_id,
        "referral_id": case.referral_external_id,
        "case_number": case.court_case_number,
        "mediation_case_number": case.case_number,
        "status": case.status,
        "final": final,
        "concluded_at": local_iso(case.concluded_at) if final else None,
        "status_changed_at": None if final else local_iso(event.at),
        "settlement_amount": _money(case.settlement_amount) if settled else None,
        "currency": case.currency or "CNY",
        "agreement_number": case.agreement_number if settled else None,
        "judicial_confirmation_requested": (
            case.judicial_confirmation_requested if settled else None
        ),
        "note": event.data.get("note") if final else None,
        "reason_code": case.reason_code if reasoned else None,
        "reason": case.reason if reasoned else None,
    }


def court_outcome(values: dict[str, Any]) -> str:
    """`court-outcome/1` XML, in the shape of the contract's `court-outcome.xml`."""
    root = etree.Element(f"{{{COURT_NS}}}OutcomeReport", nsmap={None: COURT_NS}, version="1")

    def add(tag: str, text: str, **attrs: str) -> None:
        etree.SubElement(root, f"{{{COURT_NS}}}{tag}", **attrs).text = text

    add("ReportId", values["report_id"])
    add("ReferralId", values["referral_id"])
    add("CaseNumber", values["case_number"])
    add("MediationCaseNumber", values["mediation_case_number"])
    add("Status", values["status"])
    if not values["final"]:
        add("StatusChangedAt", values["status_changed_at"])
    else:
        add("ConcludedAt", values["concluded_at"])
        if values["status"] == "SETTLED":
            add("SettlementAmount", values["settlement_amount"], currency=values["currency"])
            add("AgreementNumber", values["agreement_number"])
            confirmation = values["judicial_confirmation_requested"]
            add("JudicialConfirmationRequested", "true" if confirmation else "false")
        else:
            add("ReasonCode", values["reason_code"])
            add("Reason", values["reason"])
        if values["note"]:
            add("Note", values["note"])
    return _XML_DECLARATION + etree.tostring(root, encoding="unicode", pretty_print=True)


def arbitration_outcome(values: dict[str, Any]) -> str:
    """`arbitration-outcome/1` JSON, in the shape of the contract's `arbitration-outcome.json`."""
    doc: dict[str, Any] = {
        "format": "arbitration-outcome/1",
        "report_id": values["report_id"],
        "referral_id": values["referral_id"],
        "case_number": values["case_number"],
        "mediation_case_number": values["mediation_case_number"],
        "status": values["status"],
    }
    if not values["final"]:
        doc["status_changed_at"] = values["status_changed_at"]
        return json.dumps(doc, ensure_ascii=False, indent=2)
    settlement = None
    if values["status"] == "SETTLED":
        settlement = {
            "amount": values["settlement_amount"],
            "currency": values["currency"],
            "agreement_number": values["agreement_number"],
            "judicial_confirmation_requested": values["judicial_confirmation_requested"],
            "note": values["note"],
        }
    doc |= {
        "concluded_at": values["concluded_at"],
        "settlement": settlement,
        "reason_code": values["reason_code"],
        "reason": values["reason"],
    }
    return json.dumps(doc, ensure_ascii=False, indent=2)


@dataclass(frozen=True)
class BuiltInFormat:
    """A report format the service renders itself, with its published schema."""

    render: Callable[[dict[str, Any]], str]
    content_type: str
    schema: Path


BUILT_IN_FORMATS = {
    "court-outcome/1": BuiltInFormat(
        court_outcome, "application/xml", SCHEMAS_DIR / "court-outcome-1.xsd"
    ),
    "arbitration-outcome/1": BuiltInFormat(
        arbitration_outcome, "application/json", SCHEMAS_DIR / "arbitration-outcome-1.json"
    ),
}


class ReportInvalid(ProblemError):
    """422: the rendered report does not validate against its schema."""

    def __init__(self, source_id: str, errors: list[dict[str, str]]):
        super().__init__(
            422,
            "Report invalid",
            f"The report for source {source_id} does not validate against its schema, "
            "so the change was not made; see errors.",
            slug="report-invalid",
            errors=errors,
        )


class ReportTemplateFailed(ProblemError):
    """500: the source's report template could not be rendered."""

    def __init__(self, source_id: str, reason: str):
        super().__init__(
            500,
            "Report template failed",
            f"The report template of source {source_id} failed ({mask_text(reason)}), "
            "so the change was not made; fix the template.",
            slug="report-template-failed",
        )


def _is_xml(content_type: str) -> bool:
    return "xml" in content_type.split(";")[0]


@lru_cache(maxsize=64)
def _xml_schema(path: str) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(path))


@lru_cache(maxsize=64)
def _json_validator(path: str) -> jsonschema.protocols.Validator:
    with open(path, encoding="utf-8") as fh:
        schema = json.load(fh)
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    return validator_class(schema)


def schema_errors(body: str, schema_path: Path) -> list[dict[str, str]]:
    """Why `body` does not validate against the XSD or JSON Schema at `schema_path` (or [])."""
    if schema_path.suffix == ".xsd":
        schema = _xml_schema(str(schema_path))
        try:
            document = etree.fromstring(body.encode("utf-8"))
        except etree.XMLSyntaxError as exc:
            return [{"path": "/", "message": mask_text(str(exc))}]
        if schema.validate(document):
            return []
        return [
            {"path": entry.path or "/", "message": mask_text(entry.message)}
            for entry in schema.error_log
        ]
    validator = _json_validator(str(schema_path))
    return [
        {
            "path": "/" + "/".join(str(part) for part in error.absolute_path),
            "message": mask_text(error.message),
        }
        for error in validator.iter_errors(json.loads(body))
    ]


@lru_cache(maxsize=64)
def _template(path: str) -> jinja2.Template:
    template_path = Path(path)
    env = SandboxedEnvironment(
        loader=jinja2.FileSystemLoader(template_path.parent),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env.get_template(template_path.name)


def _field_map(fields: dict[str, Any], values: dict[str, Any]) -> str:
    doc: dict[str, Any] = {}
    for path, spec in fields.items():
        *parents, leaf = path.split(".")
        target = doc
        for parent in parents:
            target = target.setdefault(parent, {})
        target[leaf] = spec["const"] if isinstance(spec, dict) else values[spec]
    return json.dumps(doc, ensure_ascii=False, indent=2)


def _render_custom(source: Source, case: Case, values: dict[str, Any]) -> str:
    report = source.report
    if "fields" in report:
        return _field_map(report["fields"], values)
    try:
        return _template(report["template"]).render(values, case=case)
    except jinja2.TemplateError as exc:
        raise ReportTemplateFailed(source.id, f"{type(exc).__name__}: {exc}") from exc


def _well_formed(body: str, content_type: str) -> list[dict[str, str]]:
    try:
        if _is_xml(content_type):
            etree.fromstring(body.encode("utf-8"))
        else:
            json.loads(body)
    except (etree.XMLSyntaxError, ValueError) as exc:
        return [{"path": "/", "message": mask_text(str(exc))}]
    return []


def render_report(source: Source, case: Case, event: CaseEvent, report_id: str) -> RenderedReport:
    """The body of report `report_id` for `case` after `event`, in the source's format.

    Raises ReportInvalid (422) when the body fails the format's schema and
    ReportTemplateFailed (500) when a custom template breaks; nothing is stored then.
    """
    values = report_fields(case, event, report_id)
    if source.report:
        body = _render_custom(source, case, values)
        content_type = source.report["content_type"]
        schema = source.report.get("schema")
        errors = schema_errors(body, Path(schema)) if schema else _well_formed(body, content_type)
    else:
        built_in = BUILT_IN_FORMATS[source.report_format]
        body, content_type = built_in.render(values), built_in.content_type
        errors = schema_errors(body, built_in.schema)
    if errors:
        raise ReportInvalid(source.id, errors)
    return RenderedReport(content_type, body)


def check_report_config(report: dict[str, Any], report_format: str, base_dir: Path) -> dict:
    """Validate a source's `[report]` table at load; return it with absolute paths.

    Raises ConfigError naming the problem: an unknown built-in format, a missing or broken
    template or schema file, a field map naming an unknown field.
    """
    if not report:
        if report_format not in BUILT_IN_FORMATS:
            raise ConfigError(
                f"report_format {report_format!r} is not built in "
                f"({', '.join(BUILT_IN_FORMATS)}); name a [report] template or fields"
            )
        return {}
    unknown = set(report) - _REPORT_KEYS
    if unknown:
        raise ConfigError(f"[report]: unknown keys {sorted(unknown)}")
    if ("template" in report) == ("fields" in report):
        raise ConfigError("[report]: give exactly one of 'template' (XML) or 'fields' (JSON)")
    out = dict(report)
    out.setdefault(
        "content_type", "application/xml" if "template" in report else "application/json"
    )
    if "template" in report:
        if not _is_xml(out["content_type"]):
            raise ConfigError("[report]: templates render XML; use 'fields' for JSON")
        out["template"] = _load_file(report["template"], base_dir, "template", _template)
    else:
        _check_field_map(report["fields"])
    if "schema" in report:
        loader = _xml_schema if report["schema"].endswith(".xsd") else _json_validator
        out["schema"] = _load_file(report["schema"], base_dir, "schema", loader)
    return out


def _load_file(name: str, base_dir: Path, what: str, loader: Callable[[str], Any]) -> str:
    path = (base_dir / name).resolve()
    if not path.is_file():
        raise ConfigError(f"[report]: {what} file not found: {path}")
    try:
        loader(str(path))
    except (jinja2.TemplateError, etree.LxmlError, ValueError, jsonschema.SchemaError) as exc:
        raise ConfigError(f"[report]: {what} {path} is not valid: {exc}") from exc
    return str(path)


def _check_field_map(fields: Any) -> None:
    if not isinstance(fields, dict) or not fields:
        raise ConfigError("[report] fields: expected a table of output path = field")
    for path, spec in fields.items():
        constant = isinstance(spec, dict) and set(spec) == {"const"}
        if not constant and spec not in REPORT_FIELDS:
            raise ConfigError(
                f"[report] fields: {path!r} names {spec!r}; use one of "
                f"{', '.join(REPORT_FIELDS)} or {{ const = ... }}"
            )
