"""The inbound API: sources push referrals and recalls; operators replay stored pushes."""

from __future__ import annotations

from flask import Response, jsonify, request
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from referral_service import db
from referral_service.auth import current_user, require_role
from referral_service.intake.replay import replay_message
from referral_service.intake.service import Push, receive
from referral_service.models import InboundMessage

blp = Blueprint("intake", __name__, description="Referrals and recalls pushed by sources")


class ReceiptSchema(Schema):
    case_id = fields.Integer(required=True)
    case_number = fields.String(required=True, metadata={"example": "ZH-2026-000123"})
    referral_id = fields.String(required=True)
    source = fields.String(required=True)
    revision = fields.Integer(required=True)
    status = fields.String(required=True, metadata={"example": "RECEIVED"})
    warnings = fields.List(
        fields.Dict(), metadata={"description": "data-quality faults; the case is flagged"}
    )


class BatchSchema(Schema):
    source = fields.String(required=True)
    results = fields.List(
        fields.Dict(),
        required=True,
        metadata={
            "description": "one entry per record, in order: index, referral_id, status "
            "(created, duplicate, updated, recalled, conflict, invalid) and the receipt "
            "fields, or errors / problem"
        },
    )


class ReplaySchema(Schema):
    """The new inbound message a replay made."""

    id = fields.String(required=True)
    replay_of_id = fields.String(required=True)
    outcome = fields.String(required=True)
    http_status = fields.Integer(required=True)
    response = fields.Dict(allow_none=True)
    problem = fields.Dict(allow_none=True)


_PUSH_BODY = {
    "required": True,
    "description": "One message in the source's format, signed with Standard Webhooks "
    "headers (webhook-id, webhook-timestamp, webhook-signature) or sent with the source's "
    "bearer token.",
    "content": {
        "application/xml": {
            "schema": {"type": "string", "description": "court-referral/1: Referral or Recall"}
        },
        "application/json": {"schema": {"type": "object", "description": "arbitration-referral/1"}},
    },
}
_PROBLEMS = {
    400: "Malformed body (line and column where the parser gives them)",
    401: "Missing or bad signature or token, or a stale timestamp",
    404: "Unknown source, or a recall of an unknown referral",
    409: "Same or lower revision with different content, or the case is concluded",
    413: "Body over the configured limit",
    415: "Wrong content type for this source",
    422: "Invalid: every failing field with its path",
    503: "Database unavailable (Retry-After)",
}


def _answer(message: InboundMessage) -> Response:
    response = jsonify(message.problem or message.response)
    response.status_code = message.http_status
    if message.problem:
        response.mimetype = "application/problem+json"
    return response


def _document(view):
    view = blp.doc(requestBody=_PUSH_BODY)(view)
    view = blp.alt_response(
        200,
        schema=BatchSchema,
        description="Repeat or new revision (receipt), recall, or a batch message (results)",
    )(view)
    for status, description in _PROBLEMS.items():
        view = blp.alt_response(
            status, description=description, content_type="application/problem+json"
        )(view)
    return view


@blp.route("/api/v1/sources/<source_id>/referrals", methods=["POST"])
@blp.response(201, ReceiptSchema, description="New referral accepted: its case")
@_document
def push_referral(source_id: str):
    """Receive a referral or a recall from a source (contract section 2)."""
    headers = {name.lower(): value for name, value in request.headers.items()}
    message = receive(Push(source_id, headers, request.stream.read))
    return _answer(message)


@blp.route("/api/v1/inbound/<message_id>/replay", methods=["POST"])
@blp.response(200, ReplaySchema, description="The new message and its outcome")
@blp.alt_response(404, description="Unknown message", content_type="application/problem+json")
@blp.alt_response(409, description="No stored body", content_type="application/problem+json")
@require_role("operator")
def replay(message_id: str):
    """Run a stored inbound message through intake again (operator)."""
    return replay_message(db.session(), message_id, actor=f"user:{current_user().name}")
