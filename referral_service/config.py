"""Typed settings: `config/default.toml`, then the file named in `REFERRAL_CONFIG`,
then the environment. Validated once at start-up; a bad value names its key.

Environment overrides: `DATABASE_URL`, `PORT`, `LOG_FORMAT`, `SECRET_KEY`, and
`REFERRAL_<SECTION>_<KEY>` for any key of `default.toml` (`REFERRAL_DELIVERY_BATCH_SIZE`).
Secrets (`SECRET_KEY`, `REFERRAL_DATA_KEYS`, `REFERRAL_SEARCH_KEY`) come only from the
environment; with `REFERRAL_DEMO=1` missing ones fall back to published demo values.
"""

from __future__ import annotations

import base64
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from marshmallow import Schema, ValidationError, fields, validate

if TYPE_CHECKING:
    from referral_service.sources import SourceRegistry

# Where config/ and schemas/ live: the checkout, or REFERRAL_HOME in an installed image.
PROJECT_ROOT = Path(os.environ.get("REFERRAL_HOME") or Path(__file__).resolve().parent.parent)
DEFAULT_CONFIG_DIR = PROJECT_ROOT / "config"

# Published in the README; used only when REFERRAL_DEMO=1 and nothing else is set.
DEMO_SECRETS = {
    "SECRET_KEY": "demo-secret-key-not-for-production",
    "REFERRAL_DATA_KEYS": "demo1:" + base64.b64encode(b"demo-data-key-0123456789abcdef!!").decode(),
    "REFERRAL_SEARCH_KEY": "demo-search-key-not-for-production",
    "REFERRAL_SOURCE_GZ_INTERMEDIATE_COURT_SECRET": "whsec_"
    + base64.b64encode(b"gz-intermediate-court-demo-secret").decode(),
    "REFERRAL_SOURCE_GZ_ARBITRATION_SECRET": "whsec_"
    + base64.b64encode(b"gz-arbitration-demo-secret-value").decode(),
    "REFERRAL_SOURCE_GZ_TIANHE_COURT_SECRET": "whsec_"
    + base64.b64encode(b"gz-tianhe-court-demo-secret-val").decode(),
}
_GLOBAL_SECRETS = ("SECRET_KEY", "REFERRAL_DATA_KEYS", "REFERRAL_SEARCH_KEY")


class ConfigError(Exception):
    """Raised at start-up when configuration is missing or invalid."""


class _ServerSchema(Schema):
    host = fields.String(required=True)
    port = fields.Integer(required=True, validate=validate.Range(1, 65535))
    secure_cookies = fields.Boolean(required=True)


class _DatabaseSchema(Schema):
    url = fields.String(required=True, validate=validate.Regexp(r"^(sqlite|postgresql)"))


class _IntakeSchema(Schema):
    max_body_bytes = fields.Integer(required=True, validate=validate.Range(1024, 64 * 2**20))
    timestamp_tolerance_seconds = fields.Integer(required=True, validate=validate.Range(1))


class _DeliverySchema(Schema):
    interval_seconds = fields.Float(required=True, validate=validate.Range(0.1))
    batch_size = fields.Integer(required=True, validate=validate.Range(1, 10_000))
    lease_seconds = fields.Integer(required=True, validate=validate.Range(1))
    connect_timeout = fields.Float(required=True, validate=validate.Range(0.1))
    read_timeout = fields.Float(required=True, validate=validate.Range(0.1))


class _DeadlinesSchema(Schema):
    check_interval_seconds = fields.Integer(required=True, validate=validate.Range(1))
    due_soon_days = fields.Integer(required=True, validate=validate.Range(0))


class _RetentionSchema(Schema):
    raw_body_days = fields.Integer(required=True, validate=validate.Range(1))
    attempt_days = fields.Integer(required=True, validate=validate.Range(1))


class _AlertsSchema(Schema):
    interval_seconds = fields.Integer(required=True, validate=validate.Range(1))
    oldest_undelivered_seconds = fields.Integer(required=True, validate=validate.Range(1))
    refused_window_seconds = fields.Integer(required=True, validate=validate.Range(1))
    heartbeat_stale_seconds = fields.Integer(required=True, validate=validate.Range(1))
    failing_attempts = fields.Integer(required=True, validate=validate.Range(1))
    language = fields.String(required=True, validate=validate.OneOf(["zh", "en"]))
    webhook_url = fields.String(required=True)
    smtp_host = fields.String(required=True)
    smtp_port = fields.Integer(required=True, validate=validate.Range(1, 65535))
    smtp_starttls = fields.Boolean(required=True)
    smtp_user = fields.String(required=True)
    smtp_password = fields.String(required=True)
    smtp_from = fields.String(required=True)
    smtp_to = fields.String(required=True)


class _LogSchema(Schema):
    format = fields.String(required=True, validate=validate.OneOf(["text", "json"]))
    level = fields.String(
        required=True, validate=validate.OneOf(["DEBUG", "INFO", "WARNING", "ERROR"])
    )


class _SettingsSchema(Schema):
    server = fields.Nested(_ServerSchema, required=True)
    database = fields.Nested(_DatabaseSchema, required=True)
    intake = fields.Nested(_IntakeSchema, required=True)
    delivery = fields.Nested(_DeliverySchema, required=True)
    deadlines = fields.Nested(_DeadlinesSchema, required=True)
    retention = fields.Nested(_RetentionSchema, required=True)
    alerts = fields.Nested(_AlertsSchema, required=True)
    log = fields.Nested(_LogSchema, required=True)
    sources_dir = fields.String(required=True)


@dataclass(frozen=True)
class Secrets:
    """Keys that only ever come from the environment."""

    secret_key: str
    data_keys: dict[str, bytes]  # key id -> 32-byte AES key; the first one encrypts
    search_key: bytes
    demo: bool = False


@dataclass(frozen=True)
class Settings:
    """Everything the service reads from configuration, validated."""

    server: dict[str, Any]
    database: dict[str, Any]
    intake: dict[str, Any]
    delivery: dict[str, Any]
    deadlines: dict[str, Any]
    retention: dict[str, Any]
    alerts: dict[str, Any]
    log: dict[str, Any]
    sources_dir: Path
    secrets: Secrets
    sources: SourceRegistry

    @property
    def database_url(self) -> str:
        """The SQLAlchemy URL of the database."""
        return self.database["url"]


_SHORT_ENV = {
    "DATABASE_URL": ("database", "url"),
    "PORT": ("server", "port"),
    "LOG_FORMAT": ("log", "format"),
    "LOG_LEVEL": ("log", "level"),
}


def _merge(base: dict, override: Mapping) -> dict:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _read_toml(path: Path) -> dict:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError as exc:
        raise ConfigError(f"configuration file not found: {path}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc


def _env_overrides(raw: dict, env: Mapping[str, str]) -> dict:
    """Turn `REFERRAL_<SECTION>_<KEY>` and the short names into a nested override."""
    out: dict[str, dict] = {}
    for name, (section, key) in _SHORT_ENV.items():
        if env.get(name):
            out.setdefault(section, {})[key] = env[name]
    for name, value in env.items():
        if not name.startswith("REFERRAL_") or name.startswith("REFERRAL_SOURCE_"):
            continue
        rest = name.removeprefix("REFERRAL_").lower()
        for section, keys in raw.items():
            if isinstance(keys, dict) and rest.startswith(section + "_"):
                key = rest.removeprefix(section + "_")
                if key in keys:
                    out.setdefault(section, {})[key] = value
    if env.get("REFERRAL_SOURCES_DIR"):
        out["sources_dir"] = env["REFERRAL_SOURCES_DIR"]  # type: ignore[assignment]
    return out


def _format_errors(messages: dict, prefix: str = "") -> str:
    lines = []
    for key, value in messages.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            lines.append(_format_errors(value, path + "."))
        else:
            lines.append(f"{path}: {'; '.join(map(str, value))}")
    return "\n".join(lines)


def _decode_data_keys(spec: str) -> dict[str, bytes]:
    keys = {}
    for item in filter(None, (part.strip() for part in spec.split(","))):
        kid, _, b64 = item.partition(":")
        try:
            key = base64.b64decode(b64, validate=True)
        except ValueError as exc:
            raise ConfigError(f"REFERRAL_DATA_KEYS: key {kid!r} is not base64") from exc
        if not kid or len(key) != 32:
            raise ConfigError(
                "REFERRAL_DATA_KEYS: expected 'kid:base64-of-32-bytes[,kid:...]', "
                f"key {kid!r} has {len(key)} bytes"
            )
        keys[kid] = key
    if not keys:
        raise ConfigError("REFERRAL_DATA_KEYS is empty")
    return keys


def secret_from_env(name: str, env: Mapping[str, str]) -> str:
    """The secret in environment variable `name`, or its demo value in demo mode."""
    value = env.get(name)
    if not value and env.get("REFERRAL_DEMO") == "1":
        value = DEMO_SECRETS.get(name)
    if not value:
        raise ConfigError(
            f"{name} is not set: secrets come only from the environment "
            "(set REFERRAL_DEMO=1 to use the published demo values)"
        )
    return value


def load_secrets(env: Mapping[str, str]) -> Secrets:
    """Read secrets from the environment, or demo values when `REFERRAL_DEMO=1`."""
    demo = env.get("REFERRAL_DEMO") == "1"
    values = {}
    for name in _GLOBAL_SECRETS:
        values[name] = secret_from_env(name, env)
    return Secrets(
        secret_key=values["SECRET_KEY"],
        data_keys=_decode_data_keys(values["REFERRAL_DATA_KEYS"]),
        search_key=values["REFERRAL_SEARCH_KEY"].encode(),
        demo=demo,
    )


# Settings that carry credentials: allowed only from the environment.
_FILE_SECRETS = (("alerts", "webhook_url"), ("alerts", "smtp_password"))


def _refuse_file_secrets(file: dict, path: Path | str) -> None:
    for section, key in _FILE_SECRETS:
        if file.get(section, {}).get(key):
            raise ConfigError(
                f"{path}: {section}.{key} is a secret; set "
                f"REFERRAL_{section.upper()}_{key.upper()} in the environment instead"
            )


def load_settings(
    env: Mapping[str, str] | None = None, overrides: Mapping[str, Any] | None = None
) -> Settings:
    """Build validated settings; raise ConfigError naming the first bad key(s)."""
    env = os.environ if env is None else env
    raw: dict[str, Any] = {"sources_dir": str(DEFAULT_CONFIG_DIR / "sources")}
    for path in filter(None, [DEFAULT_CONFIG_DIR / "default.toml", env.get("REFERRAL_CONFIG")]):
        file = _read_toml(Path(path))
        _refuse_file_secrets(file, path)
        raw = _merge(raw, file)
    raw = _merge(raw, _env_overrides(raw, env))
    raw = _merge(raw, overrides or {})
    try:
        data = _SettingsSchema().load(raw)
    except ValidationError as exc:
        raise ConfigError("invalid configuration:\n" + _format_errors(exc.messages)) from exc
    sources_dir = Path(data.pop("sources_dir"))
    if not sources_dir.is_absolute():
        sources_dir = PROJECT_ROOT / sources_dir
    from referral_service.sources import SourceRegistry

    return Settings(
        **data,
        sources_dir=sources_dir,
        secrets=load_secrets(env),
        sources=SourceRegistry.from_directory(sources_dir, env),
    )
