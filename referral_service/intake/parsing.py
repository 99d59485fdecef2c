"""Parsing inbound bodies: hardened XML and strict JSON, faults as 400 problems.

XML is parsed by lxml with entity resolution, DTD loading and network access off and
the huge-tree limits on; a document with a DOCTYPE is refused before parsing, so
billion-laughs, quadratic-blowup and XXE bodies are refused in microseconds without
reading a file or opening a connection.
"""

from __future__ import annotations

import json
from typing import Any

from lxml import etree

from referral_service.errors import ProblemError

_DOCTYPE_MARKERS = tuple(
    "<!DOCTYPE".encode(encoding)
    for encoding in ("utf-8", "utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be")
)


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        dtd_validation=False,
        remove_pis=True,
    )


def malformed(detail: str, *, line: int | None = None, column: int | None = None) -> ProblemError:
    """A 400 problem, naming the line and column when known."""
    where = {"line": line, "column": column} if line else {}
    return ProblemError(400, "Malformed body", detail, slug="malformed", **where)


def parse_xml(body: bytes) -> etree._ElementTree:
    """A parsed XML document; raises a 400 problem for DOCTYPEs and syntax errors."""
    if any(marker in body for marker in _DOCTYPE_MARKERS):
        raise malformed("DOCTYPE declarations are not accepted.")
    try:
        root = etree.fromstring(body, _parser())
    except etree.XMLSyntaxError as exc:
        line, column = exc.position
        raise malformed(f"Not well-formed XML: {exc.msg}", line=line, column=column) from None
    tree = root.getroottree()
    if tree.docinfo.internalDTD is not None or tree.docinfo.doctype:
        raise malformed("DOCTYPE declarations are not accepted.")
    return tree


def parse_json(body: bytes) -> Any:
    """A parsed JSON document (UTF-8); raises a 400 problem with line and column."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise malformed(f"JSON must be UTF-8; invalid byte at offset {exc.start}.") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise malformed(
            f"Not well-formed JSON: {exc.msg}", line=exc.lineno, column=exc.colno
        ) from None
    except RecursionError:
        raise malformed("JSON nested too deeply.") from None


PARSERS = {"xml": parse_xml, "json": parse_json}
CONTENT_TYPES = {"xml": ("application/xml", "text/xml"), "json": ("application/json",)}


def parse(body: bytes, syntax: str) -> Any:
    """Parse `body` as `syntax` ("xml" or "json")."""
    return PARSERS[syntax](body)
