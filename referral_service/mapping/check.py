"""`referral-service mapping check SOURCE FILE`: a dry run of a source's mapping.

Prints, as JSON, each record the mapping finds in FILE with its canonical referral, or
every error with where it is in the message (path, line), which canonical field it
feeds and which key of the mapping produced it. Exits 1 when anything is wrong. Needs
no database and no secrets.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import click

from referral_service.config import DEFAULT_CONFIG_DIR
from referral_service.errors import ProblemError
from referral_service.intake.parsing import parse
from referral_service.mapping.engine import Finding, Mapping, Record, load_mapping
from referral_service.sources.registry import Source, env_prefix, load_source


def find_source_file(source: str) -> Path:
    """SOURCE as given: a path to a source .toml, or an id under the sources directory
    (`REFERRAL_SOURCES_DIR`, default `config/sources/`) or its `examples/` folder."""
    if source.endswith(".toml") or os.sep in source:
        return Path(source)
    directory = Path(os.environ.get("REFERRAL_SOURCES_DIR") or DEFAULT_CONFIG_DIR / "sources")
    for candidate in (directory / f"{source}.toml", directory / "examples" / f"{source}.toml"):
        if candidate.is_file():
            return candidate
    raise click.BadParameter(
        f"no {source}.toml in {directory} or its examples/", param_hint="SOURCE"
    )


def load_for_check(path: Path) -> Source:
    """The source at `path`, with a placeholder secret when none is set (not used here)."""
    env = dict(os.environ)
    prefix = env_prefix(path.stem)
    for key in ("SECRET", "TOKEN"):
        env.setdefault(prefix + key, "whsec_" + "dW51c2Vk")
    return load_source(path, env)


def mapping_key(kind: str, pointer: str | None) -> str | None:
    """The mapping key that feeds a canonical field: `/parties/0/role` ->
    `referral.fields.parties.fields.role`."""
    if not pointer or pointer == "/":
        return None
    steps = ["fields" if step.isdigit() else step for step in pointer.strip("/").split("/")]
    return ".".join([kind, "fields", *steps])


def _finding(kind: str, finding: Finding) -> dict[str, Any]:
    doc = finding.as_dict()
    key = mapping_key(kind, finding.field)
    if key:
        doc["mapping_key"] = key
    return doc


def _record(record: Record) -> dict[str, Any]:
    doc: dict[str, Any] = {"index": record.index, "kind": record.kind, "path": record.path}
    doc["status"] = "invalid" if record.errors else "ok"
    if record.errors:
        doc["errors"] = [_finding(record.kind, e) for e in record.errors]
    else:
        doc["canonical"] = record.data
    if record.warnings:
        doc["warnings"] = [_finding(record.kind, w) for w in record.warnings]
    return doc


def check(mapping: Mapping, body: bytes) -> dict[str, Any]:
    """The dry-run report of `body` through `mapping`; `ok` says whether intake would take it."""
    try:
        records, loose = mapping.evaluate(parse(body, mapping.syntax))
    except ProblemError as problem:
        return {"ok": False, "errors": [problem.to_dict()]}
    errors = [e.as_dict() for e in loose]
    if not mapping.batch and len(records) > 1:
        errors.append({"path": "/", "message": f"{len(records)} records; set batch = true"})
    report = {"ok": not errors and not any(r.errors for r in records)}
    if errors:
        report["errors"] = errors
    report["records"] = [_record(record) for record in records]
    return report


@click.group("mapping")
def mapping_group() -> None:
    """Source mappings."""


@mapping_group.command("check")
@click.argument("source")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def check_command(source: str, file: Path) -> None:
    """Map FILE as SOURCE (an id or a source .toml) would; print the result as JSON."""
    loaded = load_for_check(find_source_file(source))
    mapping = load_mapping(loaded.mapping, loaded.config_path)
    report = {"source": loaded.id, "mapping": mapping.origin, **check(mapping, file.read_bytes())}
    click.echo(json.dumps(report, ensure_ascii=False, indent=2))
    if not report["ok"]:
        click.echo("mapping check: errors found (see 'errors' above)", err=True)
        sys.exit(1)
