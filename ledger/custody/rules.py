"""Custody rules: lots from registration at the mine to export, and attestations. Pure.

Masses are integer grams and grades integer parts per million, so every balance below is exact
integer arithmetic: contained metal is ``mass_g * grade_ppm`` (gram-ppm), and a tolerance of
``t`` ppm admits ``x * 1_000_000 <= limit * (1_000_000 + t)``.
"""

from __future__ import annotations

from dataclasses import dataclass

from ledger.bodies import CLAIM_RULES, PPM
from ledger.custody import flags, incidents, sitestatus
from ledger.custody.types import CONSUMED, EXPORTED, HELD, IN_TRANSIT, Attestation, Flag, Lot
from ledger.errors import ConflictError, ForbiddenError, NotFoundError, PolicyError, ValidationError
from ledger.registry.types import Actor
from ledger.rulebook import Context, Handler, evolve, no_subjects, require_new, require_role, signer
from ledger.state import State
from ledger.statements import Statement

CUSTODY_ROLES = {"cooperative", "trader", "exporter", "processor", "refiner", "buyer"}
ATTESTING_ROLES = {"auditor", "inspector"}
_STATUS_SENTENCE = {
    IN_TRANSIT: "is in transit; it moves again only after the addressee records its receipt",
    CONSUMED: "was consumed by a split, merge or processing step and can no longer move",
    EXPORTED: "has been exported and can no longer move in this ledger",
}


def _lot(state: State, lot_id: str) -> Lot:
    lot = state.lot(lot_id)
    if lot is None:
        raise NotFoundError(f"lot {lot_id} is not registered.", code="unknown_lot")
    return lot


def _held_by(state: State, lot_id: str, actor: Actor) -> Lot:
    """The lot, provided ``actor`` is its custodian and it is at rest."""
    lot = _lot(state, lot_id)
    if lot.status != HELD:
        raise PolicyError(f"lot {lot_id} {_STATUS_SENTENCE[lot.status]}.", code=f"lot_{lot.status}")
    if lot.custodian != actor.id:
        raise ForbiddenError(
            f"{actor.id} is not the custodian of lot {lot_id} ({lot.custodian} is); only the "
            "custodian may move, split, process or export it.",
            code="not_custodian",
        )
    return lot


def _claim_tags(state: State, tags: list[str], lot_id: str, seq: int) -> None:
    for tag in tags:
        owner = state.tag_lot(tag)
        if owner is not None:
            raise ConflictError(
                f"tag {tag} was already used on lot {owner}; tags are single-use.",
                code="tag_reused",
            )
        state.put_tag(tag, lot_id, seq)


def _new_lot(state: State, lot_id: str) -> None:
    require_new(state.lot(lot_id) is not None, f"lot {lot_id}")


def _within(value: int, limit: int, tolerance_ppm: int) -> bool:
    """value <= limit * (1 + tolerance), exactly."""
    return value * PPM <= limit * (PPM + tolerance_ppm)


def _register(state: State, st: Statement, ctx: Context) -> tuple[str, ...]:
    actor = signer(state, st)
    body = st.body
    require_role(actor, {"cooperative"}, "register lots")
    site = state.site(body["site"])
    if site is None:
        raise NotFoundError(f"site {body['site']} is not registered.", code="unknown_site")
    if site.cooperative != actor.id:
        raise ForbiddenError(
            f"{actor.id} does not operate site {site.id} ({site.cooperative} does); a "
            "cooperative registers lots only at its own sites.",
            code="site_not_operated",
        )
    if body["mineral"] not in site.minerals:
        raise PolicyError(
            f"site {site.id} is licensed for {', '.join(site.minerals)}, not {body['mineral']}.",
            code="mineral_not_at_site",
        )
    _new_lot(state, body["lot"])
    if body["extracted"] > st.time[:10]:
        raise PolicyError(
            f"the extraction date {body['extracted']} is after the statement's date "
            f"{st.time[:10]}; a lot is registered after it is mined.",
            code="extracted_in_future",
        )
    sitestatus.check_lot_origin(state, site, st, ctx)
    flags.licence(state, site, st, ctx)
    month = body["extracted"][:7]
    total = state.site_output(site.id, month) + body["mass_g"]
    if not _within(total, site.capacity_g_month, state.policy().capacity_tolerance_ppm):
        raise PolicyError(
            f"site {site.id} would report {total} g for {month}, above its registered capacity "
            f"of {site.capacity_g_month} g a month; check the mass or the site's capacity.",
            code="capacity_exceeded",
        )
    flags.over_capacity(state, site, st, ctx, total)
    state.set_site_output(site.id, month, total)
    _claim_tags(state, body["tags"], body["lot"], ctx.seq)
    lot = Lot(
        id=body["lot"],
        mineral=body["mineral"],
        form=body["form"],
        mass_g=body["mass_g"],
        initial_mass_g=body["mass_g"],
        grade_ppm=body["grade_ppm"],
        custodian=actor.id,
        status=HELD,
        tags=tuple(sorted(body["tags"])),
        origins=(site.id,),
        created_seq=ctx.seq,
        updated_seq=ctx.seq,
    )
    state.put_lot(lot, new=True)
    state.add_site_lot(site.id, lot.id, ctx.seq)
    incidents.inherit(state, ctx, lot, ())
    return (f"lot:{lot.id}",)


def _dispatch(state: State, st: Statement, ctx: Context) -> tuple[str, ...]:
    actor = signer(state, st)
    body = st.body
    lot = _held_by(state, body["lot"], actor)
    addressee = state.actor(body["to"])
    if addressee is None:
        raise NotFoundError(f"addressee {body['to']} is not registered.", code="unknown_actor")
    if addressee.id == actor.id:
        raise ValidationError(
            "a lot cannot be dispatched to its own custodian.", code="self_dispatch"
        )
    require_role(addressee, CUSTODY_ROLES, "take custody of lots")
    if body["mass_g"] != lot.mass_g:
        raise PolicyError(
            f"the dispatch declares {body['mass_g']} g but lot {lot.id} holds {lot.mass_g} g; "
            "split the lot first to send part of it.",
            code="mass_mismatch",
        )
    if tuple(sorted(body["tags"])) != lot.tags:
        raise PolicyError(
            f"the dispatch lists tags {sorted(body['tags'])} but lot {lot.id} carries "
            f"{list(lot.tags)}.",
            code="tag_mismatch",
        )
    flags.note_dispatch(state, lot.id, st)
    state.put_lot(
        evolve(
            lot,
            status=IN_TRANSIT,
            addressee=addressee.id,
            dispatched_mass_g=body["mass_g"],
            updated_seq=ctx.seq,
        ),
        new=False,
    )
    return (f"lot:{lot.id}",)


def _receive(state: State, st: Statement, ctx: Context) -> tuple[str, ...]:
    actor = signer(state, st)
    lot = _lot(state, st.body["lot"])
    if lot.status != IN_TRANSIT:
        raise PolicyError(
            f"lot {lot.id} is not in transit (it is {lot.status}); only a dispatched lot can be "
            "received.",
            code="not_in_transit",
        )
    if lot.addressee != actor.id:
        raise ForbiddenError(
            f"lot {lot.id} was dispatched to {lot.addressee}, not to {actor.id}.",
            code="not_addressee",
        )
    flags.transit(state, lot, st, ctx)
    measured, sent = st.body["mass_g"], lot.dispatched_mass_g or lot.mass_g
    tolerance = state.policy().receipt_tolerance_ppm
    if abs(measured - sent) * PPM > sent * tolerance:
        state.add_flag(
            Flag(
                ctx.seq,
                "mass_discrepancy",
                "warning",
                f"lot:{lot.id}",
                f"{actor.id} measured {measured} g on receipt of lot {lot.id}; "
                f"{sent} g were dispatched (tolerance {tolerance} ppm).",
            )
        )
    if not _within(measured, lot.initial_mass_g, tolerance):
        # Gains inside the tolerance at each hop must not add up to material nobody traced.
        state.add_flag(
            Flag(
                ctx.seq,
                "mass_gain",
                "warning",
                f"lot:{lot.id}",
                f"lot {lot.id} now weighs {measured} g, more than the {lot.initial_mass_g} g it "
                f"had when it was created (tolerance {tolerance} ppm); material may have been "
                "added.",
            )
        )
    state.put_lot(
        evolve(
            lot,
            status=HELD,
            custodian=actor.id,
            mass_g=measured,
            addressee=None,
            dispatched_mass_g=None,
            updated_seq=ctx.seq,
        ),
        new=False,
    )
    return (f"lot:{lot.id}",)


def _consume(state: State, lot: Lot, seq: int) -> None:
    state.put_lot(evolve(lot, status=CONSUMED, updated_seq=seq), new=False)


def _split(state: State, st: Statement, ctx: Context) -> tuple[str, ...]:
    actor = signer(state, st)
    lot = _held_by(state, st.body["lot"], actor)
    outputs = st.body["outputs"]
    total = sum(out["mass_g"] for out in outputs)
    tolerance = state.policy().split_tolerance_ppm
    if total > lot.mass_g or total * PPM < lot.mass_g * (PPM - tolerance):
        raise PolicyError(
            f"the outputs of the split weigh {total} g in all; lot {lot.id} holds {lot.mass_g} g "
            f"(outputs may be lighter by at most {tolerance} ppm, never heavier).",
            code="mass_balance",
        )
    _consume(state, lot, ctx.seq)
    touched = [f"lot:{lot.id}"]
    for out in outputs:
        _new_lot(state, out["lot"])
        _claim_tags(state, out["tags"], out["lot"], ctx.seq)
        part = evolve(
            lot,
            id=out["lot"],
            mass_g=out["mass_g"],
            initial_mass_g=out["mass_g"],
            tags=tuple(sorted(out["tags"])),
            status=HELD,
            created_seq=ctx.seq,
            updated_seq=ctx.seq,
        )
        state.put_lot(part, new=True)
        state.add_edge(out["lot"], lot.id, ctx.seq)
        incidents.inherit(state, ctx, part, (lot,))
        touched.append(f"lot:{out['lot']}")
    return tuple(touched)


def _inputs(state: State, st: Statement, actor: Actor) -> list[Lot]:
    return [_held_by(state, lot_id, actor) for lot_id in st.body["inputs"]]


def _merge(state: State, st: Statement, ctx: Context) -> tuple[str, ...]:
    actor = signer(state, st)
    inputs = _inputs(state, st, actor)
    out = st.body["output"]
    if len({(lot.mineral, lot.form) for lot in inputs}) != 1:
        raise PolicyError("only lots of one mineral and form can be merged.", code="mixed_inputs")
    mass_in = sum(lot.mass_g for lot in inputs)
    metal_in = sum(lot.mass_g * lot.grade_ppm for lot in inputs)
    policy = state.policy()
    if out["mass_g"] > mass_in or out["mass_g"] * PPM < mass_in * (
        PPM - policy.merge_tolerance_ppm
    ):
        raise PolicyError(
            f"the merged lot weighs {out['mass_g']} g; its inputs weigh {mass_in} g.",
            code="mass_balance",
        )
    if out["mass_g"] * out["grade_ppm"] > metal_in:  # exact: a merge never creates metal
        raise PolicyError(
            "the merged lot would contain more metal than its inputs; check its grade.",
            code="metal_balance",
        )
    first = inputs[0]
    output = _Output(
        out["lot"], first.mineral, first.form, out["mass_g"], out["grade_ppm"], tuple(out["tags"])
    )
    return _produce(state, ctx, inputs, [output], actor)


@dataclass(frozen=True)
class _Output:
    lot: str
    mineral: str
    form: str
    mass_g: int
    grade_ppm: int
    tags: tuple[str, ...]


def _produce(
    state: State, ctx: Context, inputs: list[Lot], outputs: list[_Output], actor: Actor
) -> tuple[str, ...]:
    """Consume ``inputs`` and create ``outputs`` held by ``actor``, linked in the DAG."""
    origins = tuple(sorted({site for lot in inputs for site in lot.origins}))
    touched = []
    for lot in inputs:
        _consume(state, lot, ctx.seq)
        touched.append(f"lot:{lot.id}")
    for out in outputs:
        _new_lot(state, out.lot)
        _claim_tags(state, list(out.tags), out.lot, ctx.seq)
        made = Lot(
            id=out.lot,
            mineral=out.mineral,
            form=out.form,
            mass_g=out.mass_g,
            initial_mass_g=out.mass_g,
            grade_ppm=out.grade_ppm,
            custodian=actor.id,
            status=HELD,
            tags=tuple(sorted(out.tags)),
            origins=origins,
            created_seq=ctx.seq,
            updated_seq=ctx.seq,
        )
        state.put_lot(made, new=True)
        for lot in inputs:
            state.add_edge(out.lot, lot.id, ctx.seq)
        incidents.inherit(state, ctx, made, inputs)
        touched.append(f"lot:{out.lot}")
    return tuple(touched)


def _process(state: State, st: Statement, ctx: Context) -> tuple[str, ...]:
    actor = signer(state, st)
    require_role(actor, {"processor", "refiner"}, "process lots")
    inputs = _inputs(state, st, actor)
    outputs = st.body["outputs"]
    if sum(o["mass_g"] for o in outputs) > sum(lot.mass_g for lot in inputs):
        raise PolicyError("processing cannot produce more mass than went in.", code="mass_balance")
    metal_in: dict[str, int] = {}
    for lot in inputs:
        metal_in[lot.mineral] = metal_in.get(lot.mineral, 0) + lot.mass_g * lot.grade_ppm
    metal_out: dict[str, int] = {}
    for out in outputs:
        metal_out[out["mineral"]] = (
            metal_out.get(out["mineral"], 0) + out["mass_g"] * out["grade_ppm"]
        )
    for mineral, amount in sorted(metal_out.items()):
        if mineral not in metal_in:
            raise PolicyError(
                f"an output is {mineral}, which none of the inputs contains.",
                code="mineral_not_in_inputs",
            )
        available = metal_in[mineral]
        if amount > available:  # exact: processing never creates metal
            raise PolicyError(
                f"the outputs contain {amount // PPM} g of {mineral} but the inputs only "
                f"{available // PPM} g; processing cannot create metal.",
                code="metal_balance",
            )
    made = [
        _Output(o["lot"], o["mineral"], o["form"], o["mass_g"], o["grade_ppm"], tuple(o["tags"]))
        for o in outputs
    ]
    return _produce(state, ctx, inputs, made, actor)


def _export(state: State, st: Statement, ctx: Context) -> tuple[str, ...]:
    actor = signer(state, st)
    require_role(actor, {"exporter"}, "export lots")
    lot = _held_by(state, st.body["lot"], actor)
    incidents.require_untainted(state, lot)
    flags.relied_on(state, lot, st, ctx)
    state.put_lot(evolve(lot, status=EXPORTED, updated_seq=ctx.seq), new=False)
    return (f"lot:{lot.id}",)


def _attest(state: State, st: Statement, ctx: Context) -> tuple[str, ...]:
    actor = signer(state, st)
    body = st.body
    require_role(actor, ATTESTING_ROLES, "sign attestations")
    require_new(state.attestation(body["id"]) is not None, f"attestation {body['id']}")
    kind, subject_id = body["subject"]["kind"], body["subject"]["id"]
    lookup = {"site": state.site, "actor": state.actor, "lot": state.lot}[kind]
    if lookup(subject_id) is None:
        raise NotFoundError(f"{kind} {subject_id} is not registered.", code="unknown_subject")
    if body["claim"] == "site.inspection" and (
        kind != "site" or body.get("result") not in {"green", "yellow", "red"}
    ):
        raise ValidationError(
            "a site.inspection attests a site, with result green, yellow or red.",
            code="bad_claim",
            field="body.result",
        )
    if "vocabulary" in body:
        _check_vocabulary(actor, st)
    if body["claim"] == "site.inspection":
        made = body["fields"]["date"] if "vocabulary" in body else body["valid_from"]
        record = (body["id"], body["result"], made, body["valid_from"], body["valid_until"])
        sitestatus.add_inspection(state, subject_id, record, st, ctx)
    attestation = Attestation(
        body["id"],
        body["claim"],
        kind,
        subject_id,
        actor.id,
        body["valid_from"],
        body["valid_until"],
        body.get("result"),
        ctx.seq,
    )
    state.put_attestation(attestation, new=True)
    flags.note_attestation(state, attestation)
    return (f"attestation:{body['id']}",)


def _check_vocabulary(actor: Actor, st: Statement) -> None:
    """Under vocabulary 1, the claim's own subject kinds, signer roles and dates."""
    body = st.body
    rule = CLAIM_RULES[body["claim"]]
    kind = body["subject"]["kind"]
    if kind not in rule.subjects:
        raise ValidationError(
            f"the subject of a {body['claim']} attestation must be of kind "
            f"{' or '.join(sorted(rule.subjects))}, not {kind}.",
            code="bad_subject",
            field="body.subject.kind",
        )
    require_role(actor, set(rule.signers), f"sign {body['claim']} attestations")
    if body["claim"] == "site.inspection" and body["fields"]["date"] > st.time[:10]:
        raise ValidationError(
            f"the inspection date {body['fields']['date']} is after the statement's date "
            f"{st.time[:10]}; an inspection is attested after it took place.",
            code="inspected_in_future",
            field="body.fields.date",
        )


def _revoke_attestation(state: State, st: Statement, ctx: Context) -> tuple[str, ...]:
    actor = signer(state, st)
    attestation = state.attestation(st.body["attestation"])
    if attestation is None:
        raise NotFoundError("that attestation does not exist.", code="unknown_subject")
    if actor.id != attestation.attestor and "registrar" not in actor.roles:
        raise ForbiddenError(
            f"only {attestation.attestor}, who signed it, or a registrar may revoke it.",
            code="wrong_role",
        )
    if attestation.revoked_seq is not None:
        raise ConflictError("that attestation is already revoked.", code="already_revoked")
    revoked = evolve(attestation, revoked_seq=ctx.seq)
    state.put_attestation(revoked, new=False)
    flags.revoked(state, revoked, ctx)
    if attestation.claim == "site.inspection":
        sitestatus.revoke_inspection(state, attestation.subject_id, attestation.id, st, ctx)
    return (f"attestation:{attestation.id}",)


def _lot_subject(st: Statement) -> tuple[str, ...]:
    return (f"lot:{st.body['lot']}",)


def _input_subjects(st: Statement) -> tuple[str, ...]:
    return tuple(f"lot:{lot_id}" for lot_id in st.body["inputs"])


def _attestation_subject(st: Statement) -> tuple[str, ...]:
    return (f"attestation:{st.body['attestation']}",)


HANDLERS: dict[str, Handler] = {
    "lot.register": Handler(no_subjects, _register),
    "lot.dispatch": Handler(_lot_subject, _dispatch),
    "lot.receive": Handler(_lot_subject, _receive),
    "lot.split": Handler(_lot_subject, _split),
    "lot.merge": Handler(_input_subjects, _merge),
    "lot.process": Handler(_input_subjects, _process),
    "lot.export": Handler(_lot_subject, _export),
    "attestation": Handler(no_subjects, _attest),
    "attestation.revoke": Handler(_attestation_subject, _revoke_attestation),
}
