"""Public due-diligence data: incidents, a lot's taint, a site's inspection status."""

from __future__ import annotations

from typing import Any

from api import state
from api.blueprint import Blueprint
from api.queries import duediligence as queries
from api.schemas.duediligence import (
    IncidentArgsSchema,
    IncidentPageSchema,
    IncidentSchema,
    LotTaintSchema,
    SiteStatusSchema,
)
from api.views import provenance as provenance_view

blp = Blueprint(
    "duediligence",
    __name__,
    url_prefix="/v1",
    description="Incidents, taint and site status (public views only; details stay private).",
)


@blp.route("/incidents", methods=["GET"])
@blp.arguments(IncidentArgsSchema, location="query")
@blp.response(200, IncidentPageSchema)
@blp.errors(400)
def list_incidents(args: dict[str, Any]) -> Any:
    """Incidents in the order they were reported; filter by subject, category, resolution."""
    return queries.list_incidents(state.connection(), **args)


@blp.route("/incidents/<incident_id>", methods=["GET"])
@blp.response(200, IncidentSchema)
@blp.errors(404)
def get_incident(incident_id: str) -> Any:
    """One incident: category, severity, subject, who reported it, whether it is resolved."""
    return queries.get_incident(state.connection(), incident_id)


@blp.route("/lots/<lot_id>/taint", methods=["GET"])
@blp.response(200, LotTaintSchema)
@blp.errors(404)
def lot_taint(lot_id: str) -> Any:
    """Whether open incidents taint the lot (it cannot be exported until they are resolved)."""
    return queries.lot_taint(state.connection(), lot_id)


@blp.route("/sites/<site_id>/status", methods=["GET"])
@blp.response(200, SiteStatusSchema)
@blp.errors(404)
def site_status(site_id: str) -> Any:
    """A mine site's inspection status today and what it rests on, the status the ledger last
    evaluated, and its history of changes."""
    return queries.site_status(state.connection(), site_id, provenance_view.today())
