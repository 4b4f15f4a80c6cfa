"""Public custody data: lots (filtered, paged), a lot's history, attestations, flags."""

from __future__ import annotations

from typing import Any

from api import state
from api.blueprint import Blueprint
from api.queries import custody as queries
from api.schemas.custody import (
    AttestationArgsSchema,
    AttestationPageSchema,
    FlagArgsSchema,
    FlagPageSchema,
    LotArgsSchema,
    LotDetailSchema,
    LotHistorySchema,
    LotPageSchema,
)

blp = Blueprint(
    "custody",
    __name__,
    url_prefix="/v1",
    description="Lots, their custody history, attestations and flags (public views only).",
)


@blp.route("/lots", methods=["GET"])
@blp.arguments(LotArgsSchema, location="query")
@blp.response(200, LotPageSchema)
@blp.errors(400)
def list_lots(args: dict[str, Any]) -> Any:
    """Lots in the order the log created them; filter by origin site, mineral, custodian,
    status."""
    return queries.list_lots(state.connection(), **args)


@blp.route("/lots/<lot_id>", methods=["GET"])
@blp.response(200, LotDetailSchema)
@blp.errors(404)
def get_lot(lot_id: str) -> Any:
    """One lot: what it is, who holds it, its head entry, the lots it came from and went into."""
    return queries.get_lot(state.connection(), lot_id)


@blp.route("/lots/<lot_id>/history", methods=["GET"])
@blp.response(200, LotHistorySchema)
@blp.errors(404)
def lot_history(lot_id: str) -> Any:
    """The lot's entries back through its ``after`` links, across splits, merges and
    processing, to the registrations at the mine sites; oldest first."""
    return queries.lot_history(state.connection(), lot_id)


@blp.route("/attestations", methods=["GET"])
@blp.arguments(AttestationArgsSchema, location="query")
@blp.response(200, AttestationPageSchema)
@blp.errors(400)
def list_attestations(args: dict[str, Any]) -> Any:
    """Attestations (inspections, audits, assays), filtered by subject and claim."""
    return queries.list_attestations(state.connection(), **args)


@blp.route("/flags", methods=["GET"])
@blp.arguments(FlagArgsSchema, location="query")
@blp.response(200, FlagPageSchema)
@blp.errors(400)
def list_flags(args: dict[str, Any]) -> Any:
    """Warnings the rules raised (e.g. a mass discrepancy on receipt), by subject and code."""
    return queries.list_flags(state.connection(), **args)
