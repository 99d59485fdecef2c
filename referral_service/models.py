"""Tables. Times are timezone-aware UTC; money is NUMERIC(18, 2); personal data encrypted.

Data flow: inbound_messages -> referrals -> cases (+ parties, case_events) -> reports
(the outbox) -> delivery_attempts. Staff: users, api_tokens. Operations: source_states,
worker_heartbeats, alerts.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Numeric,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from referral_service import crypto
from referral_service.ids import new_ulid


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """Stores UTC; always returns aware datetimes (SQLite drops the offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use timezone-aware UTC")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class EncryptedText(TypeDecorator):
    """A string encrypted with the process keyring (`kid:base64`)."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return None if value is None else crypto.keyring().encrypt_text(value)

    def process_result_value(self, value, dialect):
        return None if value is None else crypto.keyring().decrypt_text(value)


class EncryptedBytes(TypeDecorator):
    """Bytes encrypted with the process keyring (`kid:` + nonce + ciphertext)."""

    impl = LargeBinary
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return None if value is None else crypto.keyring().encrypt(value)

    def process_result_value(self, value, dialect):
        return None if value is None else crypto.keyring().decrypt(bytes(value))


Money = Numeric(18, 2, asdecimal=True)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar = {datetime: UTCDateTime, dict[str, Any]: JSON, list[Any]: JSON}


class InboundMessage(Base):
    """Every push that reached intake (401s excepted), with its raw body and outcome."""

    __tablename__ = "inbound_messages"

    id: Mapped[str] = mapped_column(String(26), primary_key=True, default=new_ulid)
    source_id: Mapped[str] = mapped_column(String(64), index=True)
    received_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    content_type: Mapped[str | None] = mapped_column(String(200))
    headers: Mapped[dict[str, Any]] = mapped_column(default=dict)
    body: Mapped[bytes | None] = mapped_column(EncryptedBytes)
    body_size: Mapped[int] = mapped_column(Integer, default=0)
    body_sha256: Mapped[str | None] = mapped_column(String(64))
    webhook_id: Mapped[str | None] = mapped_column(String(200))
    # created, duplicate, updated, recalled, multi, conflict, malformed, invalid,
    # unsupported_media_type, too_large, unknown_source, unavailable, error
    outcome: Mapped[str] = mapped_column(String(32), index=True)
    http_status: Mapped[int] = mapped_column(Integer)
    problem: Mapped[dict[str, Any] | None] = mapped_column()
    response: Mapped[dict[str, Any] | None] = mapped_column()
    referral_external_id: Mapped[str | None] = mapped_column(String(200))
    replay_of_id: Mapped[str | None] = mapped_column(ForeignKey("inbound_messages.id"))
    replay_count: Mapped[int] = mapped_column(Integer, default=0)
    body_pruned_at: Mapped[datetime | None] = mapped_column()

    __table_args__ = (Index("ix_inbound_source_received", "source_id", "received_at"),)


class Referral(Base):
    """A source's referral; unique per (source, referral id); points at its case."""

    __tablename__ = "referrals"

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[str] = mapped_column(String(64))
    external_id: Mapped[str] = mapped_column(String(200))
    revision: Mapped[int] = mapped_column(Integer, default=1)
    content_hash: Mapped[str] = mapped_column(String(64))
    canonical: Mapped[dict[str, Any]] = mapped_column()
    response: Mapped[dict[str, Any]] = mapped_column(default=dict)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    inbound_message_id: Mapped[str | None] = mapped_column(ForeignKey("inbound_messages.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    case: Mapped[Case | None] = relationship(back_populates="referral", foreign_keys=[case_id])

    __table_args__ = (UniqueConstraint("source_id", "external_id", name="uq_referral_source"),)


class CaseNumberCounter(Base):
    """Last case number issued per year; bumped in the case's own transaction (no gaps)."""

    __tablename__ = "case_number_counters"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_value: Mapped[int] = mapped_column(Integer, default=0)


class Case(Base):
    """The centre's mediation case for one referral."""

    __tablename__ = "cases"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_number: Mapped[str] = mapped_column(String(20), unique=True)
    status: Mapped[str] = mapped_column(String(20), index=True, default="RECEIVED")
    version: Mapped[int] = mapped_column(Integer, default=1)
    source_id: Mapped[str] = mapped_column(String(64), index=True)
    referral_external_id: Mapped[str] = mapped_column(String(200))
    court_case_number: Mapped[str] = mapped_column(String(200), index=True)
    referral_type: Mapped[str] = mapped_column(String(20))
    referrer_name: Mapped[str] = mapped_column(String(200))
    referrer_code: Mapped[str | None] = mapped_column(String(50))
    category: Mapped[str] = mapped_column(String(40))
    cause_of_action: Mapped[str | None] = mapped_column(String(200))
    referred_at: Mapped[datetime] = mapped_column()
    deadline: Mapped[date] = mapped_column(Date, index=True)
    claim_amount: Mapped[Decimal | None] = mapped_column(Money)
    currency: Mapped[str | None] = mapped_column(String(3))
    summary: Mapped[str | None] = mapped_column(Text)
    clerk: Mapped[dict[str, Any] | None] = mapped_column()
    attachments: Mapped[list[Any]] = mapped_column(default=list)
    warnings: Mapped[list[Any]] = mapped_column(default=list)
    flagged: Mapped[bool] = mapped_column(Boolean, default=False)
    # none | due_soon | overdue, maintained by the check_deadlines job
    deadline_state: Mapped[str] = mapped_column(String(10), default="none")
    settlement_amount: Mapped[Decimal | None] = mapped_column(Money)
    agreement_number: Mapped[str | None] = mapped_column(String(100))
    judicial_confirmation_requested: Mapped[bool | None] = mapped_column(Boolean)
    reason_code: Mapped[str | None] = mapped_column(String(40))
    reason: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
    concluded_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    referral: Mapped[Referral | None] = relationship(
        back_populates="case", foreign_keys="Referral.case_id", uselist=False
    )
    parties: Mapped[list[Party]] = relationship(
        back_populates="case", order_by="Party.position", cascade="all, delete-orphan"
    )
    events: Mapped[list[CaseEvent]] = relationship(
        back_populates="case", order_by="CaseEvent.id", cascade="all, delete-orphan"
    )
    reports: Mapped[list[Report]] = relationship(
        back_populates="case", order_by="Report.sequence", cascade="all, delete-orphan"
    )

    __mapper_args__: ClassVar = {"version_id_col": version}


class Party(Base):
    """A party to a case. ID number, phone and address are encrypted at rest."""

    __tablename__ = "parties"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    role: Mapped[str] = mapped_column(String(20))  # PLAINTIFF/APPLICANT, DEFENDANT/RESPONDENT...
    side: Mapped[str] = mapped_column(String(10))  # CLAIMANT, RESPONDENT, THIRD
    type: Mapped[str] = mapped_column(String(20))  # PERSON, ORGANIZATION
    name: Mapped[str] = mapped_column(String(200), index=True)
    id_scheme: Mapped[str | None] = mapped_column(String(20))
    id_number: Mapped[str | None] = mapped_column(EncryptedText)
    id_number_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    phone: Mapped[str | None] = mapped_column(EncryptedText)
    address: Mapped[str | None] = mapped_column(EncryptedText)

    case: Mapped[Case] = relationship(back_populates="parties")


class CaseEvent(Base):
    """One entry in a case's timeline: received, amended, transition, deadline change..."""

    __tablename__ = "case_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    kind: Mapped[str] = mapped_column(String(30))
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str | None] = mapped_column(String(20))
    actor: Mapped[str] = mapped_column(String(100))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)

    case: Mapped[Case] = relationship(back_populates="events")


class Report(Base):
    """The outbox: a status or outcome report, rendered once, delivered at least once."""

    __tablename__ = "reports"

    id: Mapped[str] = mapped_column(String(26), primary_key=True, default=new_ulid)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    referral_id: Mapped[int] = mapped_column(ForeignKey("referrals.id"))
    source_id: Mapped[str] = mapped_column(String(64), index=True)
    sequence: Mapped[int] = mapped_column(Integer)
    case_status: Mapped[str] = mapped_column(String(20))
    content_type: Mapped[str] = mapped_column(String(100))
    body: Mapped[str] = mapped_column(Text)
    # PENDING -> DELIVERED | FAILED (FAILED -> PENDING by requeue)
    status: Mapped[str] = mapped_column(String(12), default="PENDING")
    attempt_count: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    locked_until: Mapped[datetime | None] = mapped_column()
    locked_by: Mapped[str | None] = mapped_column(String(100))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column()
    failed_at: Mapped[datetime | None] = mapped_column()

    case: Mapped[Case] = relationship(back_populates="reports")
    attempts: Mapped[list[DeliveryAttempt]] = relationship(
        back_populates="report", order_by="DeliveryAttempt.id", cascade="all, delete-orphan"
    )

    __table_args__ = (
        UniqueConstraint("referral_id", "sequence", name="uq_report_sequence"),
        Index("ix_reports_due", "status", "next_attempt_at"),
    )


class DeliveryAttempt(Base):
    """One POST of a report: when, how long, what came back."""

    __tablename__ = "delivery_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[str] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), index=True)
    started_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)
    http_status: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    response_excerpt: Mapped[str | None] = mapped_column(Text)
    # delivered, retry, failed
    result: Mapped[str] = mapped_column(String(12))
    worker: Mapped[str | None] = mapped_column(String(100))

    report: Mapped[Report] = relationship(back_populates="attempts")


class SourceState(Base):
    """Operational state of a source's delivery: paused by staff or by the breaker."""

    __tablename__ = "source_states"

    source_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    paused_reason: Mapped[str | None] = mapped_column(Text)
    paused_at: Mapped[datetime | None] = mapped_column()
    paused_by: Mapped[str | None] = mapped_column(String(100))  # a user, or "breaker"
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    next_probe_at: Mapped[datetime | None] = mapped_column()
    last_delivered_at: Mapped[datetime | None] = mapped_column()
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_at: Mapped[datetime | None] = mapped_column()


class User(Base):
    """A member of staff: viewer, operator or admin."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    role: Mapped[str] = mapped_column(String(10))
    password_hash: Mapped[str | None] = mapped_column(String(300))
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column()
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    tokens: Mapped[list[ApiToken]] = relationship(back_populates="user")


class ApiToken(Base):
    """A bearer token; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()

    user: Mapped[User] = relationship(back_populates="tokens")


class WorkerHeartbeat(Base):
    """Last sign of life of each scheduler process."""

    __tablename__ = "worker_heartbeats"

    worker_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    last_seen: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    hostname: Mapped[str] = mapped_column(String(200))
    pid: Mapped[int] = mapped_column(Integer)


class Alert(Base):
    """An alert condition: one row per firing, cleared when the condition ends."""

    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200), index=True)  # e.g. delivery_failing:gz-arb
    kind: Mapped[str] = mapped_column(String(40))
    source_id: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[str] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    cleared_at: Mapped[datetime | None] = mapped_column()
    notified_start: Mapped[bool] = mapped_column(Boolean, default=False)
    notified_clear: Mapped[bool] = mapped_column(Boolean, default=False)
