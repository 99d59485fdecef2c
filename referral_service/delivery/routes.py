"""Delivery API for operators: re-queue a FAILED report, pause and resume a source."""

from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from referral_service import db
from referral_service.auth import current_user, require_role
from referral_service.delivery import operations
from referral_service.openapi import BEARER, problem_responses

blp = Blueprint(
    "delivery", __name__, url_prefix="/api/v1", description="Delivery of reports to sources"
)


class ReportDeliverySchema(Schema):
    id = fields.String()
    case_id = fields.Integer()
    source_id = fields.String()
    sequence = fields.Integer()
    case_status = fields.String()
    status = fields.String(metadata={"description": "PENDING, DELIVERED or FAILED"})
    attempt_count = fields.Integer()
    next_attempt_at = fields.DateTime()
    last_error = fields.String(allow_none=True)
    delivered_at = fields.DateTime(allow_none=True)
    failed_at = fields.DateTime(allow_none=True)


class SourceDeliverySchema(Schema):
    source_id = fields.String()
    paused = fields.Boolean()
    paused_by = fields.String(
        allow_none=True, metadata={"description": "a user, 'breaker' or 'gone' (410 answer)"}
    )
    paused_reason = fields.String(allow_none=True)
    paused_at = fields.DateTime(allow_none=True)
    consecutive_failures = fields.Integer()
    next_probe_at = fields.DateTime(allow_none=True)
    last_delivered_at = fields.DateTime(allow_none=True)
    last_error = fields.String(allow_none=True)
    last_error_at = fields.DateTime(allow_none=True)


class PauseSchema(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=1000))


@blp.route("/reports/<report_id>/requeue", methods=["POST"])
@require_role("operator")
@blp.response(200, ReportDeliverySchema)
@blp.doc(security=BEARER)
@problem_responses(blp, 401, 403, 404, 409)
def requeue(report_id: str):
    """Put a FAILED report back in the delivery queue (operator)."""
    return operations.requeue_report(db.session(), report_id, current_user().name)


@blp.route("/sources/<source_id>/pause", methods=["POST"])
@require_role("operator")
@blp.arguments(PauseSchema)
@blp.response(200, SourceDeliverySchema)
@blp.doc(security=BEARER)
@problem_responses(blp, 401, 403, 404, 422)
def pause(body: dict, source_id: str):
    """Stop delivering reports to a source until resumed (operator)."""
    return operations.pause_source(db.session(), source_id, current_user().name, body["reason"])


@blp.route("/sources/<source_id>/resume", methods=["POST"])
@require_role("operator")
@blp.response(200, SourceDeliverySchema)
@blp.doc(security=BEARER)
@problem_responses(blp, 401, 403, 404)
def resume(source_id: str):
    """Deliver reports to a source again, whoever paused it (operator)."""
    return operations.resume_source(db.session(), source_id, current_user().name)
