"""Source registry: one TOML file per referring system under `config/sources/`.

A source is configuration, not code. Any key may be overridden from the environment
as `REFERRAL_SOURCE_<ID>_<KEY>` (`<ID>` upper-cased, `-` as `_`; a key of a table is
`<TABLE>_<KEY>`, e.g. `..._DELIVERY_MAX_ATTEMPTS`). Secrets live only in the
environment: `..._SECRET` (Standard Webhooks `whsec_...`) or `..._TOKEN` (bearer).
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate

from referral_service.config import ConfigError, _format_errors, secret_from_env
from referral_service.delivery.render import check_report_config
from referral_service.mapping import load_mapping

# Svix-like schedule: a blip heals in seconds, an outage is ridden out for about a day.
DEFAULT_BACKOFF = [5, 300, 1800, 7200, 18000, 36000, 36000]
INTERIM_STATUSES = ("ACCEPTED", "IN_MEDIATION")


class _DeliveryPolicySchema(Schema):
    max_attempts = fields.Integer(load_default=8, validate=validate.Range(1, 100))
    backoff_seconds = fields.List(
        fields.Integer(validate=validate.Range(0)), load_default=lambda: list(DEFAULT_BACKOFF)
    )
    concurrency = fields.Integer(load_default=2, validate=validate.Range(1, 64))
    breaker_threshold = fields.Integer(load_default=5, validate=validate.Range(1))
    probe_interval_seconds = fields.Integer(load_default=300, validate=validate.Range(1))


class _SourceSchema(Schema):
    id = fields.String(required=True, validate=validate.Regexp(r"^[a-z0-9][a-z0-9-]{1,62}$"))
    name = fields.String(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(["court", "arbitration"]))
    format = fields.String(required=True)
    mapping = fields.Raw(required=True)
    auth = fields.String(load_default="webhook", validate=validate.OneOf(["webhook", "bearer"]))
    callback_url = fields.Url(load_default=None, require_tld=False, schemes={"http", "https"})
    report_format = fields.String(required=True)
    report = fields.Dict(load_default=dict)
    interim_statuses = fields.List(
        fields.String(validate=validate.OneOf(INTERIM_STATUSES)), load_default=list
    )
    enabled = fields.Boolean(load_default=True)
    delivery = fields.Nested(
        _DeliveryPolicySchema, load_default=lambda: _DeliveryPolicySchema().load({})
    )


@dataclass(frozen=True)
class DeliveryPolicy:
    """How reports to one source are retried and throttled."""

    max_attempts: int
    backoff_seconds: list[int]
    concurrency: int
    breaker_threshold: int
    probe_interval_seconds: int


@dataclass(frozen=True)
class Source:
    """One referring system, validated, with its secret resolved from the environment."""

    id: str
    name: str
    kind: str
    format: str
    mapping: Any
    auth: str
    callback_url: str | None
    report_format: str
    interim_statuses: list[str]
    enabled: bool
    delivery: DeliveryPolicy
    secret: str = field(repr=False)
    config_path: Path | None = None
    report: dict = field(default_factory=dict)

    @property
    def env_prefix(self) -> str:
        """This source's `REFERRAL_SOURCE_<ID>_` environment prefix."""
        return env_prefix(self.id)


def env_prefix(source_id: str) -> str:
    """`gz-intermediate-court` -> `REFERRAL_SOURCE_GZ_INTERMEDIATE_COURT_`."""
    return "REFERRAL_SOURCE_" + source_id.upper().replace("-", "_") + "_"


_TABLES = ("delivery", "report")
_LIST_KEYS = ("backoff_seconds", "interim_statuses")


def _apply_env(raw: dict, source_id: str, env: Mapping[str, str]) -> dict:
    """Overlay `REFERRAL_SOURCE_<ID>_<KEY>` variables onto a source's raw config."""
    prefix = env_prefix(source_id)
    top_keys = _SourceSchema().fields
    out = {key: dict(value) if isinstance(value, dict) else value for key, value in raw.items()}
    for name, value in env.items():
        key = name.removeprefix(prefix).lower()
        if not name.startswith(prefix) or key in ("secret", "token"):
            continue
        table, _, sub = key.partition("_")
        if table in _TABLES and key not in top_keys:
            target, key = out.setdefault(table, {}), sub
        else:
            target = out
        target[key] = [item.strip() for item in value.split(",")] if key in _LIST_KEYS else value
    return out


def load_source(path: Path, env: Mapping[str, str]) -> Source:
    """Load and validate one source file; raise ConfigError naming the file and key."""
    with path.open("rb") as fh:
        try:
            raw = tomllib.load(fh)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    for forbidden in ("secret", "token"):
        if forbidden in raw:
            raise ConfigError(
                f"{path}: '{forbidden}' must not be in a file; set "
                f"{env_prefix(raw.get('id', path.stem))}{forbidden.upper()} in the environment"
            )
    source_id = raw.get("id", path.stem)
    try:
        data = _SourceSchema().load(_apply_env(raw, source_id, env))
    except ValidationError as exc:
        raise ConfigError(f"{path}: invalid source:\n" + _format_errors(exc.messages)) from exc
    if data["id"] != path.stem:
        raise ConfigError(f"{path}: id {data['id']!r} must match the file name")
    secret_name = env_prefix(data["id"]) + ("SECRET" if data["auth"] == "webhook" else "TOKEN")
    data["delivery"] = DeliveryPolicy(**data["delivery"])
    try:
        data["report"] = check_report_config(data["report"], data["report_format"], path.parent)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    load_mapping(data["mapping"], path)  # compiled once; a bad mapping names its file and key
    return Source(**data, secret=secret_from_env(secret_name, env), config_path=path)


class SourceRegistry:
    """The sources this process serves, by id."""

    def __init__(self, sources: list[Source]):
        self._sources = {source.id: source for source in sources}

    @classmethod
    def from_directory(cls, directory: Path, env: Mapping[str, str]) -> SourceRegistry:
        """Load every `*.toml` directly in `directory` (sub-folders hold examples)."""
        if not directory.is_dir():
            raise ConfigError(f"sources directory not found: {directory}")
        return cls([load_source(path, env) for path in sorted(directory.glob("*.toml"))])

    def get(self, source_id: str) -> Source | None:
        """The source with this id, or None."""
        return self._sources.get(source_id)

    def all(self) -> list[Source]:
        """Every source, sorted by id."""
        return sorted(self._sources.values(), key=lambda source: source.id)

    def add(self, source: Source) -> None:
        """Register one more source (tests and onboarding examples)."""
        self._sources[source.id] = source
