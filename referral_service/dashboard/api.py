"""`GET /api/v1/sync-status`: the overview's figures as JSON, for monitors and scripts."""

from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import Schema, fields

from referral_service import db, settings, sources
from referral_service.auth import require_role
from referral_service.dashboard.status import as_dict, sync_status

blp = Blueprint(
    "sync-status", __name__, url_prefix="/api/v1", description="Sync status of every source"
)


class _WindowCounts(Schema):
    today = fields.Integer()
    last_7_days = fields.Integer()


class _InboundSchema(Schema):
    today = fields.Dict(keys=fields.String(), values=fields.Integer())
    last_7_days = fields.Dict(keys=fields.String(), values=fields.Integer())


class SourceStatusSchema(Schema):
    id = fields.String()
    name = fields.String()
    enabled = fields.Boolean()
    inbound = fields.Nested(_InboundSchema, metadata={"description": "Pushes by outcome."})
    received = fields.Nested(_WindowCounts)
    accepted = fields.Nested(
        _WindowCounts, metadata={"description": "Outcomes that reached a case."}
    )
    refused = fields.Nested(_WindowCounts)
    last_received_at = fields.AwareDateTime(allow_none=True)
    reports = fields.Dict(
        keys=fields.String(), values=fields.Integer(), metadata={"description": "By status."}
    )
    oldest_pending_seconds = fields.Integer(
        allow_none=True, metadata={"description": "Age of the oldest PENDING or FAILED report."}
    )
    last_delivered_at = fields.AwareDateTime(allow_none=True)
    last_error = fields.String(allow_none=True)
    last_error_at = fields.AwareDateTime(allow_none=True)
    paused = fields.Boolean()
    paused_reason = fields.String(allow_none=True)


class _WorkerSchema(Schema):
    last_heartbeat_at = fields.AwareDateTime(allow_none=True)
    heartbeat_age_seconds = fields.Integer(allow_none=True)
    worker_id = fields.String(allow_none=True)


class _CasesSchema(Schema):
    due_soon = fields.Integer()
    overdue = fields.Integer()


class SyncStatusSchema(Schema):
    generated_at = fields.AwareDateTime()
    worker = fields.Nested(_WorkerSchema)
    cases = fields.Nested(_CasesSchema, metadata={"description": "Open cases by deadline."})
    sources = fields.List(fields.Nested(SourceStatusSchema))


@blp.route("/sync-status")
@blp.response(200, SyncStatusSchema)
@require_role("viewer")
def get_sync_status():
    """Per source: inbound by outcome (today and the last 7 Asia/Shanghai days), the last
    push, reports by status, the age of the oldest undelivered report, the last delivery
    and error, and whether delivery is paused; the worker's last heartbeat."""
    due_soon_days = settings().deadlines["due_soon_days"]
    return as_dict(sync_status(db.session(), sources(), due_soon_days=due_soon_days))
