"""A lot's provenance for buyers: the JSON account, the proof bundle and the QR codes.

Public, no token. The account and the public page (:mod:`api.views.pages`) are derived from the
bundle the server serves, after the buyer's own verifier has run on it here
(:func:`ledger.custody.bundles.verified_bundle`).
"""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, request

from api import state
from api.blueprint import Blueprint
from api.queries.log import entry_view
from api.queries.registry import require_id
from api.schemas.provenance import BundleArgsSchema, ProvenanceSchema
from ledger import qr
from ledger.custody.bundles import bundle_bytes, verified_bundle
from ledger.custody.provenance import lot_head
from ledger.custody.public_view import describe

blp = Blueprint(
    "provenance",
    __name__,
    url_prefix="/v1",
    description="A lot's provenance: the verified public account, the proof bundle to check "
    "offline (docs/PROTOCOL.md, section 19) and the QR codes for its label.",
)
_BUNDLE = "The bundle's exact bytes (RFC 8785 JSON); check with `ledger verify-bundle`."


def today() -> str:
    return state.ledger().clock().date().isoformat()


def account(lot_id: str) -> tuple[bytes, dict[str, Any]]:
    """The verified bundle's bytes and the public account derived from it."""
    require_id(lot_id, "lot")
    data, verdict = verified_bundle(state.ledger(), lot_id)
    described = describe(verdict, today())
    described["entries"] = [entry_view(entry) for entry in verdict.entries]
    return data, described


@blp.route("/lots/<lot_id>/provenance", methods=["GET"])
@blp.response(200, ProvenanceSchema)
@blp.errors(404)
def provenance(lot_id: str) -> Any:
    """The lot's provenance DAG as the buyer's verifier derived it from the bundle: the lot, its
    origin sites, the custody timeline, attestations, flags and alerts, and the entries."""
    return account(lot_id)[1]


@blp.route("/lots/<lot_id>/bundle", methods=["GET"])
@blp.arguments(BundleArgsSchema, location="query")
@blp.response(200, schema={"type": "object"}, description=_BUNDLE)
@blp.errors(400, 404)
def bundle(args: dict[str, Any], lot_id: str) -> Any:
    """The lot's proof bundle: its provenance entries' exact bytes, one signed checkpoint, an
    inclusion proof of each entry, and (with ``since``) a consistency proof from an older size."""
    require_id(lot_id, "lot")
    data = bundle_bytes(state.ledger(), lot_id, since=args.get("since"))
    disposition = f'attachment; filename="{lot_id}.bundle.json"'
    return Response(data, mimetype="application/json",
                    headers={"Content-Disposition": disposition})  # fmt: skip


def label_url(lot_id: str) -> str:
    """The page URL a label carries: the configured public URL, else the request's host."""
    require_id(lot_id, "lot")
    base = current_app.config.get("PUBLIC_URL") or request.host_url
    return qr.page_url(base, lot_id, lot_head(state.connection(), lot_id))


@blp.route("/lots/<lot_id>/qr.png", methods=["GET"])
@blp.response(200, schema={"type": "string", "format": "binary"}, content_type="image/png")
@blp.errors(404)
def qr_png(lot_id: str) -> Any:
    """The lot's QR code (error correction H) as PNG: its page URL and head prefix."""
    return Response(qr.png(label_url(lot_id)), mimetype="image/png")


@blp.route("/lots/<lot_id>/qr.svg", methods=["GET"])
@blp.response(200, schema={"type": "string"}, content_type="image/svg+xml")
@blp.errors(404)
def qr_svg(lot_id: str) -> Any:
    """The lot's QR code as SVG."""
    return Response(qr.svg(label_url(lot_id)), mimetype="image/svg+xml")
