"""The parsed view of an inbound body: every value with its path, personal data masked.

Works for refused messages too (an invalid referral is still a document); a body that
does not parse shows the parser's message instead. Party and clerk names, ID numbers,
phones and addresses are masked by field; ID and mobile numbers anywhere else by pattern.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

from lxml import etree

from referral_service.intake.parsing import parse_json, parse_xml
from referral_service.masking import mask_address, mask_id_number, mask_name, mask_phone, mask_text

_FIELD_MASKS: dict[str, Callable[[str], str | None]] = {
    "idnumber": mask_id_number,
    "id_number": mask_id_number,
    "phone": mask_phone,
    "mobile": mask_phone,
    "address": mask_address,
}
_PERSON_CONTAINERS = ("part", "clerk", "applicant", "respondent", "contact")


def _mask(path: list[str], value: str) -> str:
    steps = [step.split("[")[0].lstrip("@").lower() for step in path]
    leaf = steps[-2] if steps[-1] == "value" and len(steps) > 1 else steps[-1]
    if leaf in _FIELD_MASKS:
        return _FIELD_MASKS[leaf](value) or value
    if leaf == "name" and any(p in step for step in steps[:-1] for p in _PERSON_CONTAINERS):
        return mask_name(value) or value
    return mask_text(value)


def _xml_rows(element: etree._Element, path: list[str]) -> Iterator[tuple[list[str], str]]:
    name = etree.QName(element).localname
    siblings = [e for e in element.itersiblings(preceding=True) if e.tag == element.tag]
    later = [e for e in element.itersiblings() if e.tag == element.tag]
    here = [*path, f"{name}[{len(siblings) + 1}]" if siblings or later else name]
    for attribute, value in element.attrib.items():
        yield [*here, "@" + etree.QName(attribute).localname], value
    text = (element.text or "").strip()
    if text:
        yield here, text
    for child in element:
        if isinstance(child.tag, str):
            yield from _xml_rows(child, here)


def _json_rows(value: Any, path: list[str]) -> Iterator[tuple[list[str], str]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _json_rows(item, [*path, str(key)])
    elif isinstance(value, list):
        for index, item in enumerate(value, start=1):
            yield from _json_rows(
                item, [*path[:-1], f"{path[-1]}[{index}]"] if path else [str(index)]
            )
    elif value is not None:
        yield path, value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def parsed_rows(body: bytes, content_type: str | None, *, masked: bool) -> list[tuple[str, str]]:
    """`(path, value)` for every value in the body; raise ProblemError when it does not parse."""
    if "json" in (content_type or ""):
        rows = _json_rows(parse_json(body), [])
    else:
        rows = _xml_rows(parse_xml(body).getroot(), [])
    return [("/".join(path), _mask(path, value) if masked else value) for path, value in rows]
