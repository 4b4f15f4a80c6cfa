"""The public registry: actors and their keys, mine sites, miners (pseudonymous)."""

from __future__ import annotations

from typing import Any

from api import state
from api.blueprint import Blueprint
from api.queries import registry as queries
from api.schemas.registry import (
    ActorArgsSchema,
    ActorPageSchema,
    ActorSchema,
    MinerArgsSchema,
    MinerPageSchema,
    SiteArgsSchema,
    SitePageSchema,
    SiteSchema,
)
from api.views import provenance as provenance_view

blp = Blueprint(
    "registry",
    __name__,
    url_prefix="/v1",
    description="Registered actors, mine sites and miners (public views only).",
)


@blp.route("/actors", methods=["GET"])
@blp.arguments(ActorArgsSchema, location="query")
@blp.response(200, ActorPageSchema)
@blp.errors(400)
def list_actors(args: dict[str, Any]) -> Any:
    """Actors in registration order, with their keys."""
    return queries.list_actors(state.connection(), **args)


@blp.route("/actors/<actor_id>", methods=["GET"])
@blp.response(200, ActorSchema)
@blp.errors(404)
def get_actor(actor_id: str) -> Any:
    """One actor: public name, roles, country, and its keys with their status."""
    return queries.get_actor(state.connection(), actor_id)


@blp.route("/sites", methods=["GET"])
@blp.arguments(SiteArgsSchema, location="query")
@blp.response(200, SitePageSchema)
@blp.errors(400)
def list_sites(args: dict[str, Any]) -> Any:
    """Mine sites in registration order, each with its inspection status today."""
    return queries.list_sites(state.connection(), today=provenance_view.today(), **args)


@blp.route("/sites/<site_id>", methods=["GET"])
@blp.response(200, SiteSchema)
@blp.errors(404)
def get_site(site_id: str) -> Any:
    """One mine site, with its licence and its inspection status today."""
    return queries.get_site(state.connection(), site_id, provenance_view.today())


@blp.route("/miners", methods=["GET"])
@blp.arguments(MinerArgsSchema, location="query")
@blp.response(200, MinerPageSchema)
@blp.errors(400)
def list_miners(args: dict[str, Any]) -> Any:
    """Miners as pseudonymous ids with their cooperative and site; nothing personal."""
    return queries.list_miners(state.connection(), **args)
