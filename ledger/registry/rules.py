"""Registry rules: genesis, actors and their keys, mine sites, miners. Pure (see ledger.rules)."""

from __future__ import annotations

from ledger import canonical
from ledger.crypto import key_id
from ledger.custody import flags, sitestatus
from ledger.errors import ConflictError, ForbiddenError, NotFoundError, ValidationError
from ledger.registry.types import Actor, Key, Miner, Site
from ledger.rulebook import Context, Handler, evolve, no_subjects, require_new, require_role, signer
from ledger.state import Policy, State
from ledger.statements import Statement, parse_time

REGISTRAR = "registrar"
OPERATOR = "operator"


def apply_genesis(state: State, statement: Statement, ctx: Context) -> None:
    """Entry 0: the origin, the operator's key, the first registrars, the policy."""
    if statement.type != "genesis" or ctx.seq != 0:
        raise ValidationError(
            "entry 0 must be the genesis statement, and only entry 0 may be one.",
            code="genesis_position",
        )
    body = statement.body
    if statement.ledger != body["origin"]:
        raise ValidationError(
            "genesis statement.ledger must equal body.origin.", code="wrong_ledger"
        )
    operator = body["operator"]
    operator_pub = canonical.b64decode(operator["key"], field="body.operator.key", size=32)
    if statement.actor != operator["id"] or statement.key != key_id(operator_pub):
        raise ValidationError(
            "genesis must be signed by the operator key it names.", code="genesis_signer"
        )
    if statement.after:
        raise ValidationError(
            "genesis has no predecessors: after must be {}.", code="after_subjects"
        )
    state.set_genesis(body["origin"], Policy.from_json(body["policy"]))
    _add_actor(state, operator["id"], operator["name"], (OPERATOR,), "ZZ", [operator["key"]], ctx)
    state.put_key(evolve(_require_key(state, statement.key), last_n=statement.n), new=False)
    for registrar in body["registrars"]:
        if state.actor(registrar["id"]) is not None:
            raise ConflictError(
                f"actor {registrar['id']} is named twice in genesis.", code="duplicate_id"
            )
        _add_actor(
            state,
            registrar["id"],
            registrar["name"],
            (REGISTRAR,),
            registrar["country"],
            registrar["keys"],
            ctx,
        )


def _require_key(state: State, kid: str) -> Key:
    key = state.key(kid)
    if key is None:  # pragma: no cover - _add_actor has just written it
        raise NotFoundError("genesis key missing after registration.")
    return key


def _add_actor(
    state: State,
    actor_id: str,
    name: str,
    roles: tuple[str, ...],
    country: str,
    keys: list[str],
    ctx: Context,
) -> None:
    state.put_actor(Actor(actor_id, name, roles, country, ctx.seq), new=True)
    for key_text in keys:
        public_key = canonical.b64decode(key_text, field="key", size=32)
        kid = key_id(public_key)
        if state.key(kid) is not None:
            raise ConflictError(
                "that public key is already registered; every actor needs its own keys.",
                code="duplicate_key",
            )
        state.put_key(Key(kid, actor_id, public_key, ctx.seq), new=True)
    state.set_head(f"actor:{actor_id}", ctx.leaf_hash, ctx.seq)


def _actor_register(state: State, st: Statement, ctx: Context) -> tuple[str, ...]:
    require_role(signer(state, st), {REGISTRAR}, "register actors")
    body = st.body
    require_new(state.actor(body["id"]) is not None, f"actor {body['id']}")
    roles = tuple(sorted(body["roles"]))
    _add_actor(state, body["id"], body["name"], roles, body["country"], body["keys"], ctx)
    return (f"actor:{body['id']}",)


def _self_or_registrar(state: State, st: Statement, target: str, what: str) -> None:
    actor = signer(state, st)
    if actor.id != target and REGISTRAR not in actor.roles:
        raise ForbiddenError(
            f"{actor.id} may not {what} for {target}: only {target} itself or a registrar may.",
            code="wrong_role",
        )
    if state.actor(target) is None:
        raise NotFoundError(f"actor {target} is not registered.", code="unknown_actor")


def _key_add(state: State, st: Statement, ctx: Context) -> tuple[str, ...]:
    target = st.body["actor"]
    _self_or_registrar(state, st, target, "add a key")
    public_key = canonical.b64decode(st.body["key"], field="body.key", size=32)
    kid = key_id(public_key)
    if state.key(kid) is not None:
        raise ConflictError("that public key is already registered.", code="duplicate_key")
    state.put_key(Key(kid, target, public_key, ctx.seq), new=True)
    return (f"actor:{target}",)


def _key_revoke(state: State, st: Statement, ctx: Context) -> tuple[str, ...]:
    target = st.body["actor"]
    _self_or_registrar(state, st, target, "revoke a key")
    key = state.key(st.body["key"])
    if key is None or key.actor != target:
        raise NotFoundError(f"{target} has no key {st.body['key'][:16]}...", code="unknown_key")
    if key.revoked_seq is not None:
        raise ConflictError("that key is already revoked.", code="already_revoked")
    if key.last_time is not None and parse_time(key.last_time) >= parse_time(st.body["effective"]):
        flags.backdated_revocation(state, key, st, ctx)
    state.put_key(
        evolve(key, revoked_seq=ctx.seq, revoked_effective=st.body["effective"]), new=False
    )
    return (f"actor:{target}",)


def _site_register(state: State, st: Statement, ctx: Context) -> tuple[str, ...]:
    require_role(signer(state, st), {REGISTRAR}, "register mine sites")
    body = st.body
    require_new(state.site(body["id"]) is not None, f"site {body['id']}")
    cooperative = state.actor(body["cooperative"])
    if cooperative is None:
        raise NotFoundError(
            f"cooperative {body['cooperative']} is not registered.", code="unknown_actor"
        )
    require_role(cooperative, {"cooperative"}, "operate a mine site")
    site = Site(
        id=body["id"],
        name=body["name"],
        country=body["country"],
        region=body["region"],
        lat_e6=body["location"]["lat_e6"],
        lon_e6=body["location"]["lon_e6"],
        minerals=tuple(sorted(body["minerals"])),
        licence_number=body["licence"]["number"],
        licence_expires=body["licence"]["expires"],
        cooperative=body["cooperative"],
        capacity_g_month=body["capacity_g_month"],
        inspection_status=body["inspection_status"],
        registered_seq=ctx.seq,
    )
    state.put_site(site, new=True)
    sitestatus.register(state, site, st, ctx)
    return (f"site:{site.id}",)


def _miner_register(state: State, st: Statement, ctx: Context) -> tuple[str, ...]:
    actor = signer(state, st)
    body = st.body
    if REGISTRAR not in actor.roles and actor.id != body["cooperative"]:
        raise ForbiddenError(
            f"{actor.id} may not register miners of {body['cooperative']}: only that "
            "cooperative or a registrar may.",
            code="wrong_role",
        )
    require_new(state.miner(body["id"]) is not None, f"miner {body['id']}")
    site = state.site(body["site"])
    if site is None:
        raise NotFoundError(f"site {body['site']} is not registered.", code="unknown_site")
    if site.cooperative != body["cooperative"]:
        raise ForbiddenError(
            f"site {site.id} is operated by {site.cooperative}, not {body['cooperative']}.",
            code="site_not_operated",
        )
    state.put_miner(Miner(body["id"], body["cooperative"], body["site"], ctx.seq))
    return (f"miner:{body['id']}",)


def _actor_subject(st: Statement) -> tuple[str, ...]:
    return (f"actor:{st.body['actor']}",)


HANDLERS: dict[str, Handler] = {
    "actor.register": Handler(no_subjects, _actor_register),
    "actor.key.add": Handler(_actor_subject, _key_add),
    "actor.key.revoke": Handler(_actor_subject, _key_revoke),
    "site.register": Handler(no_subjects, _site_register),
    "miner.register": Handler(no_subjects, _miner_register),
}
