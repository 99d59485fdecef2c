"""The published schemas under `schemas/`: XSD (lxml) and JSON Schema, loaded once.

A schema check reports every structural fault it finds, each with its path in the
message (XPath or JSON pointer) and, for XML, its line.
"""

from __future__ import annotations

import json
import re
from functools import cache
from typing import TYPE_CHECKING, Any

import jsonschema
from lxml import etree

from referral_service.config import PROJECT_ROOT

if TYPE_CHECKING:
    from referral_service.mapping.engine import Finding

SCHEMAS_DIR = PROJECT_ROOT / "schemas"
_CLARK = re.compile(r"\{[^}]*\}")


class SchemaCheck:
    """Validates a parsed document against one published schema."""

    def __init__(self, name: str, syntax: str):
        path = SCHEMAS_DIR / name
        if not path.is_file():
            raise ValueError(f"schema {name!r} not found in {SCHEMAS_DIR}")
        if syntax == "xml":
            try:
                self._xsd = etree.XMLSchema(etree.parse(str(path)))
            except (etree.XMLSchemaParseError, etree.XMLSyntaxError) as exc:
                raise ValueError(f"schema {name!r} is not a valid XSD: {exc}") from exc
        else:
            schema = json.loads(path.read_text(encoding="utf-8"))
            jsonschema.Draft202012Validator.check_schema(schema)
            self._json = jsonschema.Draft202012Validator(schema)
        self.syntax = syntax

    def errors(self, document: Any) -> list[Finding]:
        """Every fault in `document` (an lxml tree or parsed JSON), in document order."""
        from referral_service.mapping.engine import Finding

        if self.syntax == "xml":
            self._xsd.validate(document)
            return [
                Finding(entry.path or "/", _xsd_message(entry.message), line=entry.line)
                for entry in self._xsd.error_log
            ]
        found = []
        for error in sorted(self._json.iter_errors(document), key=lambda e: list(e.absolute_path)):
            pointer = "".join(f"/{part}" for part in error.absolute_path)
            if error.validator == "additionalProperties":
                extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
                found += [Finding(f"{pointer}/{key}", "unknown field") for key in extra]
                continue
            found.append(Finding(pointer or "/", error.message))
        return found


def _xsd_message(message: str) -> str:
    """lxml names elements in Clark notation; drop the namespace for readability."""
    return _CLARK.sub("", message)


@cache
def load_schema(name: str, syntax: str) -> SchemaCheck:
    """The schema `name` (a file in `schemas/`), compiled once per process."""
    return SchemaCheck(name, syntax)
