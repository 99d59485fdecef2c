"""The declarative mapping engine: a source's message in, canonical records out.

A mapping (a TOML table, see `docs/onboarding-a-source.md`) says, per record kind
(`referral`, optionally `recall`), where the records are (`records`) and where each
canonical field is (`fields`): an XPath with the mapping's namespace prefixes for XML,
a dotted path for JSON. A field is a path string or a table:

    path       where the value is, relative to the record
    value      a constant instead of a path
    default    used when the path finds nothing
    transform  one name or a list (see transforms.py), applied in order
    codes      a code table under [codes.<name>]; "*" in a table catches any other code
               ("*" = "*" keeps other codes as they are)
    format, timezone   options of the date/datetime transforms
    each       (instead of path) a list: one item per node found, with its own `fields`

A table without any of these keys groups fields (`referrer = { name = ..., code = ... }`).
Mappings are compiled once; a bad one is a ConfigError naming its file and key.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from lxml import etree
from marshmallow import ValidationError

from referral_service.config import DEFAULT_CONFIG_DIR, ConfigError
from referral_service.localtime import LOCAL_TZ
from referral_service.mapping.canonical import REFERRAL_TYPES, SCHEMAS, quality_warnings
from referral_service.mapping.schemas import SchemaCheck, load_schema
from referral_service.mapping.transforms import (
    TIMEZONES,
    TRANSFORMS,
    TransformError,
)
from referral_service.masking import mask_text

MAPPINGS_DIR = DEFAULT_CONFIG_DIR / "mappings"
SYNTAXES = ("xml", "json")
_SPEC_KEYS = {"path", "value", "default", "transform", "codes", "format", "timezone", "each"}
_TOP_KEYS = {"syntax", "schema", "batch", "namespaces", "deadline_days", "codes", *SCHEMAS}


@dataclass(frozen=True)
class Finding:
    """One error or warning about a record: where in the message, which field, what."""

    path: str
    message: str
    field: str | None = None
    line: int | None = None
    value: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON form for problem documents and responses (no empty keys)."""
        doc = {"path": self.path, "field": self.field, "line": self.line, "value": self.value}
        doc = {key: value for key, value in doc.items() if value is not None}
        doc["message"] = mask_text(self.message)
        return doc


@dataclass
class Record:
    """One record of a message, mapped: canonical data, or the errors that stopped it."""

    kind: str
    index: int
    path: str
    data: dict[str, Any] | None = None
    errors: list[Finding] = field(default_factory=list)
    warnings: list[Finding] = field(default_factory=list)
    referral_id: str | None = None


# --- navigation: one small class per syntax -------------------------------------------


class _XmlNavigator:
    """Compiled XPath expressions over an lxml tree; paths use the mapping's prefixes."""

    def __init__(self, namespaces: dict[str, str]):
        self.namespaces = namespaces
        self._prefixes = {uri: prefix for prefix, uri in namespaces.items()}

    def compile(self, expr: str) -> etree.XPath:
        return etree.XPath(expr, namespaces=self.namespaces)

    def nodes(self, compiled: etree.XPath, context: Any) -> list[Any]:
        found = compiled(context)
        return found if isinstance(found, list) else [found]

    def text(self, node: Any) -> str:
        if isinstance(node, etree._Element):
            return "".join(node.itertext())
        if isinstance(node, bool):
            return "true" if node else "false"
        if isinstance(node, float):
            return str(int(node)) if node.is_integer() else str(node)
        return str(node)

    def where(self, node: Any) -> tuple[str, int | None]:
        """A readable XPath of `node` and its line, e.g. `/c:Referral/c:Parties/c:Party[2]`."""
        if isinstance(node, etree._ElementUnicodeResult) and node.getparent() is not None:
            parent_path, line = self.where(node.getparent())
            if node.is_attribute:
                return f"{parent_path}/@{self._name(node.attrname)}", line
            return f"{parent_path}/text()", line
        if not isinstance(node, etree._Element):
            return "", None
        steps = []
        element = node
        while element is not None:
            step = self._name(element.tag)
            parent = element.getparent()
            if parent is not None:
                same = list(parent.iterchildren(element.tag))
                if len(same) > 1:
                    step += f"[{same.index(element) + 1}]"
            steps.append(step)
            element = parent
        return "/" + "/".join(reversed(steps)), node.sourceline

    def join(self, base: str, expr: str) -> str:
        return expr if expr.startswith("/") else f"{base}/{expr}"

    def _name(self, tag: str) -> str:
        qname = etree.QName(tag)
        if qname.namespace is None:
            return qname.localname
        prefix = self._prefixes.get(qname.namespace)
        return (
            f"{prefix}:{qname.localname}" if prefix else f"{{{qname.namespace}}}{qname.localname}"
        )


@dataclass(frozen=True)
class _JsonNode:
    value: Any
    pointer: str


class _JsonNavigator:
    """Dotted paths (`claim.amount`, `$` for the record itself); positions as JSON pointers."""

    def compile(self, expr: str) -> tuple[str, ...]:
        expr = expr.removeprefix("$").removeprefix(".")
        keys = tuple(expr.split(".")) if expr else ()
        if any(not key for key in keys):
            raise ValueError(f"empty step in path {expr!r}")
        return keys

    def nodes(self, keys: tuple[str, ...], context: Any) -> list[_JsonNode]:
        node = context if isinstance(context, _JsonNode) else _JsonNode(context, "")
        value, pointer = node.value, node.pointer
        for key in keys:
            if isinstance(value, dict) and key in value:
                value, pointer = value[key], f"{pointer}/{key}"
            elif isinstance(value, list) and key.isdigit() and int(key) < len(value):
                value, pointer = value[int(key)], f"{pointer}/{key}"
            else:
                return []
        if value is None:
            return []
        if isinstance(value, list):
            return [_JsonNode(item, f"{pointer}/{i}") for i, item in enumerate(value)]
        return [_JsonNode(value, pointer)]

    def text(self, node: _JsonNode) -> Any:
        return node.value

    def where(self, node: _JsonNode) -> tuple[str, int | None]:
        return node.pointer or "/", None

    def join(self, base: str, expr: str) -> str:
        keys = self.compile(expr)
        return base.rstrip("/") + "".join(f"/{key}" for key in keys)


# --- compiled field specs --------------------------------------------------------------


@dataclass(frozen=True)
class _Field:
    expr: str | None
    path: Any
    value: Any = None
    default: Any = None
    transforms: tuple[str, ...] = ()
    codes: str | None = None
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class _List:
    expr: str
    path: Any
    fields: dict[str, Any]


@dataclass(frozen=True)
class _Kind:
    name: str
    records_expr: str
    records: Any
    fields: dict[str, Any]


class Mapping:
    """A compiled mapping: schema check, record selection and field extraction."""

    def __init__(self, raw: dict[str, Any], origin: str):
        self.origin = origin
        self._check_keys(raw, _TOP_KEYS, "")
        self.syntax = raw.get("syntax")
        if self.syntax not in SYNTAXES:
            self._fail("syntax", f"must be one of {', '.join(SYNTAXES)}, not {self.syntax!r}")
        self.batch = raw.get("batch", False)
        if not isinstance(self.batch, bool):
            self._fail("batch", "must be true or false")
        namespaces = raw.get("namespaces", {})
        if self.syntax == "json" and namespaces:
            self._fail("namespaces", "only XML mappings have namespaces")
        self.nav: Any = _XmlNavigator(namespaces) if self.syntax == "xml" else _JsonNavigator()
        self.schema: SchemaCheck | None = None
        if raw.get("schema"):
            try:
                self.schema = load_schema(raw["schema"], self.syntax)
            except ValueError as exc:
                self._fail("schema", str(exc))
        self.codes = self._compile_codes(raw.get("codes", {}))
        self.deadline_days = self._compile_deadline_days(raw.get("deadline_days", {}))
        self.kinds = [self._compile_kind(name, raw[name]) for name in SCHEMAS if name in raw]
        if not self.kinds:
            self._fail("referral", "a mapping needs a [referral] table")

    # compile -----------------------------------------------------------------------

    def _fail(self, key: str, message: str) -> None:
        raise ConfigError(f"{self.origin}: {key}: {message}")

    def _check_keys(self, table: Any, allowed: set[str], key: str) -> None:
        if not isinstance(table, dict):
            self._fail(key or "mapping", "must be a table")
        unknown = sorted(set(table) - allowed)
        if unknown:
            where = f"{key}." if key else ""
            self._fail(where + unknown[0], f"unknown key (allowed: {', '.join(sorted(allowed))})")

    def _compile_path(self, expr: Any, key: str) -> Any:
        if not isinstance(expr, str) or not expr:
            self._fail(key, "must be a non-empty path string")
        try:
            return self.nav.compile(expr)
        except (etree.XPathSyntaxError, ValueError) as exc:
            self._fail(key, f"bad path {expr!r}: {exc}")

    def _compile_codes(self, tables: Any) -> dict[str, dict[str, str]]:
        if not isinstance(tables, dict):
            self._fail("codes", "must be a table of code tables")
        for name, table in tables.items():
            if not isinstance(table, dict) or not all(isinstance(v, str) for v in table.values()):
                self._fail(f"codes.{name}", 'must be a table of code = "value"')
        return tables

    def _compile_deadline_days(self, table: Any) -> dict[str, int]:
        self._check_keys(table, set(REFERRAL_TYPES), "deadline_days")
        for name, days in table.items():
            if not isinstance(days, int) or days < 1:
                self._fail(f"deadline_days.{name}", "must be a positive number of days")
        return table

    def _compile_kind(self, name: str, table: Any) -> _Kind:
        self._check_keys(table, {"records", "fields"}, name)
        records_expr = table.get("records", "/" if self.syntax == "xml" else "$")
        if self.syntax == "xml" and records_expr == "/":
            self._fail(f"{name}.records", "name the record element, e.g. /c:Referral")
        records = self._compile_path(records_expr, f"{name}.records")
        fields_table = table.get("fields")
        if not isinstance(fields_table, dict) or not fields_table:
            self._fail(f"{name}.fields", "must be a non-empty table of canonical fields")
        return _Kind(name, records_expr, records, self._compile_fields(fields_table, name))

    def _compile_fields(self, table: dict[str, Any], key: str) -> dict[str, Any]:
        return {
            name: self._compile_spec(spec, f"{key}.fields.{name}") for name, spec in table.items()
        }

    def _compile_spec(self, spec: Any, key: str) -> Any:
        if isinstance(spec, str):
            return _Field(spec, self._compile_path(spec, key))
        if not isinstance(spec, dict):
            self._fail(key, "must be a path string or a table")
        if not set(spec) & _SPEC_KEYS:
            return {name: self._compile_spec(sub, f"{key}.{name}") for name, sub in spec.items()}
        if "each" in spec:
            self._check_keys(spec, {"each", "fields"}, key)
            if not isinstance(spec.get("fields"), dict):
                self._fail(f"{key}.fields", "a list needs a table of fields for each item")
            path = self._compile_path(spec["each"], f"{key}.each")
            return _List(spec["each"], path, self._compile_fields(spec["fields"], key))
        self._check_keys(spec, _SPEC_KEYS - {"each"}, key)
        if ("path" in spec) == ("value" in spec):
            self._fail(key, "give exactly one of 'path' or 'value'")
        transforms = spec.get("transform", ())
        transforms = (transforms,) if isinstance(transforms, str) else tuple(transforms)
        for name in transforms:
            if name not in TRANSFORMS:
                self._fail(
                    f"{key}.transform",
                    f"unknown transform {name!r} (known: {', '.join(TRANSFORMS)})",
                )
        if spec.get("codes") is not None and spec["codes"] not in self.codes:
            self._fail(f"{key}.codes", f"no code table [codes.{spec['codes']}] in this mapping")
        if spec.get("timezone") not in (None, *TIMEZONES):
            self._fail(f"{key}.timezone", f"must be one of {', '.join(TIMEZONES)}")
        options = {name: spec[name] for name in ("format", "timezone") if name in spec}
        path = self._compile_path(spec["path"], f"{key}.path") if "path" in spec else None
        return _Field(
            spec.get("path"),
            path,
            spec.get("value"),
            spec.get("default"),
            transforms,
            spec.get("codes"),
            options,
        )

    # apply -------------------------------------------------------------------------

    def evaluate(self, document: Any) -> tuple[list[Record], list[Finding]]:
        """Every record of the message, each mapped and validated on its own, and the
        faults that belong to no record (a wrong root, a missing envelope).

        Schema faults inside a record are that record's errors, so one bad record of a
        batch does not refuse the others.
        """
        records = self._records(document)
        loose = []
        for finding in self._schema_findings(document):
            owner = next((r for r in records if _within(finding.path, r.path)), None)
            if owner is None:
                loose.append(finding)
            elif all(e.path != finding.path for e in owner.errors):
                owner.errors.append(finding)
        if not records:
            loose.append(Finding("/", f"no record found at {' or '.join(self.record_paths())}"))
        for record in records:
            record.errors.sort(key=lambda e: (e.line or 0, e.path))
            if record.errors:
                record.data = None
        return records, loose

    def _schema_findings(self, document: Any) -> list[Finding]:
        if self.schema is None:
            return []
        findings = self.schema.errors(document)
        if self.syntax == "json":
            return findings
        readable = []
        for finding in findings:
            nodes = document.xpath(finding.path) if finding.path.startswith("/") else []
            path = self.nav.where(nodes[0])[0] if nodes else finding.path
            readable.append(Finding(path, finding.message, line=finding.line))
        return readable

    def _records(self, document: Any) -> list[Record]:
        out: list[Record] = []
        for kind in self.kinds:
            for node in self.nav.nodes(kind.records, document):
                path, _line = self.nav.where(node)
                out.append(self._record(kind, len(out), node, path or kind.records_expr))
        return out

    def record_paths(self) -> list[str]:
        """Where this mapping looks for records (for 'no record found' messages)."""
        return [kind.records_expr for kind in self.kinds]

    def _record(self, kind: _Kind, index: int, node: Any, path: str) -> Record:
        record = Record(kind.name, index, path)
        origins: dict[str, tuple[str, int | None]] = {}
        raw = self._extract(kind.fields, node, path, "", origins, record.errors)
        if isinstance(raw.get("referral_id"), str):
            record.referral_id = raw["referral_id"].strip()
        try:
            data = SCHEMAS[kind.name]().load(raw)
        except ValidationError as exc:
            for pointer, message in _flatten(exc.messages):
                if pointer in {e.field for e in record.errors}:
                    continue  # the transform already said what is wrong here
                where, line = origins.get(pointer, (path, None))
                record.errors.append(Finding(where, message, pointer, line))
            return record
        if record.errors:
            return record
        if kind.name == "referral":
            self._default_deadline(data, record, path)
            for warning in quality_warnings(data):
                where, line = origins.get(warning["field"], (path, None))
                record.warnings.append(
                    Finding(where, warning["message"], warning["field"], line, warning["value"])
                )
        if not record.errors:
            record.data = SCHEMAS[kind.name]().dump(data)
        return record

    def _default_deadline(self, data: dict[str, Any], record: Record, path: str) -> None:
        if data.get("deadline"):
            return
        days = self.deadline_days.get(data["referral_type"])
        if days is None:
            message = f"missing, and the mapping has no deadline_days for {data['referral_type']}"
            record.errors.append(Finding(path, message, "/deadline"))
            return
        data["deadline"] = data["referred_at"].astimezone(LOCAL_TZ).date() + timedelta(days=days)

    def _extract(
        self,
        specs: dict[str, Any],
        node: Any,
        base: str,
        pointer: str,
        origins: dict[str, tuple[str, int | None]],
        errors: list[Finding],
    ) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, spec in specs.items():
            here = f"{pointer}/{name}"
            if isinstance(spec, dict):
                value = self._extract(spec, node, base, here, origins, errors)
                if all(isinstance(spec[key], _Field) and spec[key].path is None for key in value):
                    value = None  # nothing but constants: the group is not in the message
            elif isinstance(spec, _List):
                value = [
                    self._extract(
                        spec.fields, item, self.nav.where(item)[0], f"{here}/{i}", origins, errors
                    )
                    for i, item in enumerate(self.nav.nodes(spec.path, node))
                ] or None
                origins.setdefault(here, (self.nav.join(base, spec.expr), None))
            else:
                value = self._value(spec, node, base, here, origins, errors)
            if value is not None:
                out[name] = value
        return out

    def _value(
        self,
        spec: _Field,
        node: Any,
        base: str,
        pointer: str,
        origins: dict[str, tuple[str, int | None]],
        errors: list[Finding],
    ) -> Any:
        if spec.path is None:
            return spec.value
        found = self.nav.nodes(spec.path, node)
        if not found:
            origins[pointer] = (self.nav.join(base, spec.expr), None)
            return spec.default
        where, line = self.nav.where(found[0])
        origins[pointer] = (where or self.nav.join(base, spec.expr), line)
        if len(found) > 1:
            errors.append(
                Finding(
                    origins[pointer][0],
                    f"{len(found)} values found where one was expected",
                    pointer,
                    line,
                )
            )
            return None
        value = self.nav.text(found[0])
        if not isinstance(value, str):
            return value
        value = value.strip()
        if not value:
            return spec.default
        try:
            for name in spec.transforms:
                value = TRANSFORMS[name](value, spec.options)
            if spec.codes:
                value = self._code(spec.codes, value)
        except TransformError as exc:
            errors.append(Finding(origins[pointer][0], str(exc), pointer, line))
            return None
        return value

    def _code(self, table_name: str, code: str) -> str:
        table = self.codes[table_name]
        if code in table:
            return table[code]
        if "*" in table:
            return code if table["*"] == "*" else table["*"]
        known = ", ".join(key for key in table if key != "*")
        raise TransformError(f"code {code!r} is not in code table {table_name!r} (known: {known})")


def _within(path: str, record_path: str) -> bool:
    return record_path in ("/", "") or path == record_path or path.startswith(record_path + "/")


def _flatten(messages: Any, pointer: str = "") -> Iterator[tuple[str, str]]:
    """marshmallow's nested messages as (JSON pointer, message) pairs."""
    if isinstance(messages, dict):
        for key, value in messages.items():
            yield from _flatten(value, f"{pointer}/{key}")
    elif isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        for message in messages:
            yield pointer or "/", message
    else:
        yield pointer or "/", str(messages)


# --- loading ---------------------------------------------------------------------------

_cache: dict[tuple[str, str], Mapping] = {}


def _resolve(ref: Any, source_path: Path | None) -> tuple[dict[str, Any], str]:
    if isinstance(ref, dict):
        return ref, f"{source_path or 'source'}: mapping"
    if not isinstance(ref, str) or not ref:
        raise ConfigError(f"{source_path or 'source'}: mapping: must be a name or a table")
    if ref.endswith(".toml"):
        path = Path(ref)
        if not path.is_absolute():
            path = (source_path.parent if source_path else Path.cwd()) / path
    else:
        path = MAPPINGS_DIR / f"{ref}.toml"
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh), str(path)
    except FileNotFoundError:
        raise ConfigError(
            f"{source_path or 'source'}: mapping: {ref!r} not found (looked for {path})"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc


def load_mapping(ref: Any, source_path: Path | None = None) -> Mapping:
    """The compiled mapping for a source's `mapping` value (a name, a .toml path or a table).

    Compiled once per process and reused; raises ConfigError naming the file and key.
    """
    key = (str(source_path), json.dumps(ref, sort_keys=True, default=str))
    if key not in _cache:
        raw, origin = _resolve(ref, source_path)
        _cache[key] = Mapping(raw, origin)
    return _cache[key]
