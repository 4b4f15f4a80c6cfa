"""The ``ledger`` command: what operators, monitors and scripts use.

Configuration comes from the environment (see ``ledger.config``). Every failure prints one line,
``error [code]: sentence``, on stderr and exits 1; nothing prints a traceback.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import click
from sqlalchemy import Engine, select

from ledger import canonical, entries
from ledger import cli_grievances as grievances_cli
from ledger.builder import Author, RegistrarSpec, genesis
from ledger.cli_provenance import bundle as bundle_cmd
from ledger.cli_provenance import qr_label, verify_bundle
from ledger.cli_support import friendly, json_arg, local_author
from ledger.client.cli import client as client_group
from ledger.config import Settings
from ledger.crypto import Ed25519Signer
from ledger.custody.grievances import refuse_elsewhere
from ledger.custody.log import Ledger
from ledger.custody.models import HeadRow, LedgerRow
from ledger.db import make_engine
from ledger.disclosures import Disclosure
from ledger.errors import ConfigError, LedgerError, ValidationError
from ledger.keystore import Keystore
from ledger.migrate import upgrade
from ledger.registry.models import KeyRow
from ledger.registry.tokens_cli import erase_miner, tokens
from ledger.rules import HANDLERS
from ledger.runtime import tune_gc
from ledger.state import DEFAULT_POLICY
from ledger.statements import Envelope, Statement, Submission, format_time

OPERATOR_KEY, REGISTRAR_KEY = "operator", "registrar"


class Context:
    """What commands share: settings, and lazily the engine, keystore and ledger service."""

    def __init__(self) -> None:
        self.settings = Settings.from_env()
        self._engine: Engine | None = None

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self.settings.ensure_sqlite_dir()
            self._engine = make_engine(self.settings.database_url)
            click.get_current_context().call_on_close(self._engine.dispose)
        return self._engine

    @property
    def keystore(self) -> Keystore:
        return Keystore(self.settings.keys_dir, self.settings.passphrase)

    def ledger(self, *, sign: bool = True) -> Ledger:
        keystore = self.keystore
        operator = keystore.load(OPERATOR_KEY) if sign else None
        sealer = keystore.sealer() if sign else None
        return Ledger(self.engine, operator=operator, sealer=sealer)

    def initialised(self) -> bool:
        upgrade(self.engine)
        with self.engine.connect() as conn:
            return conn.execute(select(LedgerRow.origin)).scalar() is not None


pass_ctx = click.make_pass_decorator(Context, ensure=True)


@click.group()
@click.version_option(package_name="asm-ledger")
def main() -> None:
    """ASM custody ledger: signed custody statements in an append-only Merkle log."""
    tune_gc()


main.add_command(client_group)
main.add_command(tokens)
main.add_command(erase_miner)
for _command in (verify_bundle, bundle_cmd, qr_label, grievances_cli.grievances):
    main.add_command(_command)


@main.command()
@pass_ctx
@friendly
def migrate(ctx: Context) -> None:
    """Create or upgrade the database schema (Alembic migrations)."""
    upgrade(ctx.engine)
    click.echo("schema is at the newest revision")


@main.command()
@click.option("--origin", required=True, help="The ledger's origin, e.g. cd.example.org/asm.")
@click.option("--registrar-id", default="registrar", show_default=True)
@click.option("--registrar-name", default="Registrar", show_default=True)
@click.option("--country", default="CD", show_default=True, help="The registrar's country.")
@pass_ctx
@friendly
def init(ctx: Context, origin: str, registrar_id: str, registrar_name: str, country: str) -> None:
    """Create the schema, the operator and registrar keys and the data key, and the genesis."""
    if ctx.initialised():
        raise ConfigError("this ledger already has a genesis entry.", code="already_initialised")
    _init(ctx, origin, registrar_id, registrar_name, country)
    click.echo(f"initialised {origin}; operator key: {ctx.ledger().verifier_key()}")


def _init(ctx: Context, origin: str, registrar_id: str, name: str, country: str) -> None:
    keystore = ctx.keystore
    operator = _load_or_create(keystore, OPERATOR_KEY)
    registrar = _load_or_create(keystore, REGISTRAR_KEY)
    sealer = keystore.sealer(create=True)
    ledger = Ledger(ctx.engine, operator=operator, sealer=sealer)
    spec = RegistrarSpec(registrar_id, name, country, (registrar.public_key,))
    policy = DEFAULT_POLICY.to_json()
    ledger.append(genesis(origin, operator, [spec], policy, time=datetime.now(UTC)))
    ledger.latest_checkpoint()


def _load_or_create(keystore: Keystore, name: str) -> Ed25519Signer:
    return keystore.load(name) if keystore.exists(name) else keystore.create(name)


@main.group()
def keys() -> None:
    """Manage the local keystore (LEDGER_KEYS_DIR)."""


@keys.command("new")
@click.argument("name")
@pass_ctx
@friendly
def keys_new(ctx: Context, name: str) -> None:
    """Create a new Ed25519 key NAME, encrypted with LEDGER_KEY_PASSPHRASE."""
    signer = ctx.keystore.create(name)
    click.echo(
        json.dumps(
            {
                "name": name,
                "key_id": signer.key_id,
                "public_key": canonical.b64encode(signer.public_key),
            }
        )
    )


@keys.command("list")
@pass_ctx
@friendly
def keys_list(ctx: Context) -> None:
    """List the keys in the keystore with their key ids."""
    for name in ctx.keystore.names():
        signer = ctx.keystore.load(name)
        click.echo(
            json.dumps(
                {
                    "name": name,
                    "key_id": signer.key_id,
                    "public_key": canonical.b64encode(signer.public_key),
                }
            )
        )


@main.command("append")
@click.argument("statement_type", metavar="TYPE", type=click.Choice(sorted(HANDLERS)))
@click.option("--key", "key_name", required=True, help="Name of the local key to sign with.")
@click.option("--body", required=True, help="The public body as JSON, or @FILE.")
@click.option("--private", default=None, help="Private fields as a JSON object, or @FILE.")
@click.option("--time", "when", default=None, help="Statement time (default: now).")
@pass_ctx
@friendly
def append_cmd(
    ctx: Context,
    statement_type: str,
    key_name: str,
    body: str,
    private: str | None,
    when: str | None,
) -> None:
    """Build a TYPE statement, sign it with a local key, and append it.

    The signer's actor and next counter, and the heads ``after`` must name, are read from the
    ledger, so this suits an operator at the ledger's own machine; remote actors use the API.
    """
    signer = ctx.keystore.load(key_name)
    ledger = ctx.ledger()
    with ctx.engine.connect() as conn:
        author = local_author(conn, ledger.origin(), signer, key_name)
        body_value = json_arg(body, "--body")
        probe = Statement(
            ledger.origin(),
            statement_type,
            author.actor,
            signer.key_id,
            1,
            format_time(datetime.now(UTC)),
            body=body_value,
        )
        refuse_elsewhere(probe)  # a grievance's incident goes through `ledger grievances convert`
        after = _current_heads(conn, HANDLERS[statement_type].subjects(probe))
    submission = author.sign(
        statement_type,
        body_value,
        time=when or datetime.now(UTC),
        after=after,
        private=json_arg(private, "--private") if private else None,
    )
    _print_result(ledger, ledger.append(submission))


def _current_heads(conn: Any, subjects: tuple[str, ...]) -> dict[str, bytes]:
    heads = {}
    for subject in subjects:
        head = conn.execute(select(HeadRow.leaf_hash).where(HeadRow.subject == subject)).scalar()
        if head is not None:
            heads[subject] = bytes(head)
    return heads


@main.command()
@click.argument("source", type=click.File("rb"))
@pass_ctx
@friendly
def submit(ctx: Context, source: Any) -> None:
    """Append pre-signed statements: JSON lines of {"envelope": ..., "disclosures": [...]}."""
    submissions = []
    for number, line in enumerate(source, start=1):
        if not line.strip():
            continue
        try:
            item = canonical.parse(line)
            envelope = Envelope.from_json(item["envelope"])
            found = tuple(Disclosure.from_json(d) for d in item.get("disclosures", []))
            refuse_elsewhere(envelope.statement)
        except (LedgerError, KeyError, TypeError) as exc:
            message = exc.message if isinstance(exc, LedgerError) else f"missing {exc}"
            raise ValidationError(f"line {number}: {message}", code="invalid") from exc
        submissions.append(Submission(envelope, found))
    ledger = ctx.ledger()
    for result in ledger.append_batch(submissions):
        click.echo(json.dumps(_result_json(result)))


def _result_json(result: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"status": result.status}
    if result.seq is not None:
        out.update(seq=result.seq, leaf_hash=result.leaf_hash.hex())
    if result.error is not None:
        out.update(code=result.error.code, message=result.error.message)
    return out


def _print_result(ledger: Ledger, result: Any) -> None:
    size, proof = ledger.inclusion_proof(result.seq)
    click.echo(
        json.dumps(
            {
                **_result_json(result),
                "tree_size": size,
                "inclusion_proof": [h.hex() for h in proof],
                "checkpoint": ledger.latest_checkpoint(),
            }
        )
    )


@main.command()
@click.option("--seed", default=1, show_default=True, help="Seed of the deterministic demo.")
@click.option(
    "--start",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="The story's first day (UTC). Default: 60 days before today, so that it ends a few "
    "weeks ago and its inspections are in force today. The same seed and start give the same "
    "statements, byte for byte.",
)
@pass_ctx
@friendly
def demo(ctx: Context, seed: int, start: datetime | None) -> None:
    """Load the deterministic demo supply chain into an initialised ledger."""
    summary = _load_demo(ctx, seed, start.date() if start is not None else None)
    click.echo(json.dumps(summary.__dict__))


def _load_demo(ctx: Context, seed: int, start: date | None = None) -> Any:
    from ledger import demo as demo_module

    now = datetime.now(UTC)
    if start is None:
        begin = demo_module.start_for(now.date())
    else:
        begin = datetime(start.year, start.month, start.day, 7, 0, tzinfo=UTC)
        end = demo_module.story_end(begin, seed)
        if end > now:  # refused before anything is stored: a half-loaded demo cannot resume
            latest = (now - (end - begin)).date() - timedelta(days=1)
            raise ValidationError(
                f"the demo story runs {(end - begin).days + 1} days from --start, so it would end "
                f"on {end.date().isoformat()}, after today; the latest start today is "
                f"{latest.isoformat()}.",
                field="--start",
            )

    if not ctx.initialised():
        raise ConfigError("run `ledger init --origin ORIGIN` first.", code="no_genesis")
    with ctx.engine.connect() as conn:
        loaded = conn.execute(
            select(HeadRow.subject).where(HeadRow.subject == f"lot:{demo_module.SHOWCASE_LOT}")
        ).first()
    if loaded is not None:
        raise ConfigError(
            "the demo supply chain is already in this ledger; it can be loaded only once.",
            code="demo_loaded",
        )
    _store_demo_keys(ctx.keystore, seed)
    ledger = ctx.ledger()
    registrar = ctx.keystore.load(REGISTRAR_KEY)
    with ctx.engine.connect() as conn:
        last_n = conn.execute(
            select(KeyRow.last_n).where(KeyRow.key_id == registrar.key_id)
        ).scalar()
        actor = conn.execute(
            select(KeyRow.actor_id).where(KeyRow.key_id == registrar.key_id)
        ).scalar()
    if actor is None:
        raise ConfigError("the registrar key in the keystore is not this ledger's registrar.")
    author = Author(ledger.origin(), actor, registrar, n=last_n or 0)
    return demo_module.run_demo(
        ledger.append, author, seed=seed, start=begin, grieve=_grievance_store(ctx)
    )


def _grievance_store(ctx: Context) -> Callable[[Any], object]:
    """Where the demo's anonymous grievance goes: the off-log store, its text sealed."""
    from ledger.custody import grievances

    sealer = ctx.keystore.sealer()

    def grieve(found: Any) -> object:
        return grievances.report(
            ctx.engine, sealer, site=found.site, category=found.category, text=found.text,
            language=found.language, today=date.fromisoformat(found.day),
        )  # fmt: skip

    return grieve


def _store_demo_keys(keystore: Keystore, seed: int) -> None:
    """Keep the demo actors' keys (derived from the public seed) so they can sign more."""
    from ledger import demo as demo_module

    signers = {
        **demo_module.demo_keys(seed),
        f"{demo_module.ROTATED_ACTOR}-2": demo_module.replacement_key(seed),
    }
    for name, signer in signers.items():
        if not keystore.exists(name):
            keystore.create(name, seed=signer.private_key.private_bytes_raw())


@main.command()
@click.option("--workers", default=2, show_default=True, help="Signature-checking processes.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@pass_ctx
@friendly
def audit(ctx: Context, workers: int, as_json: bool) -> None:
    """Re-derive everything from genesis; exit 0 only if the ledger is intact."""
    from ledger.custody.audit import audit as run_audit

    size = ctx.ledger(sign=False).size()
    with click.progressbar(length=size, label="auditing", file=sys.stderr) as bar:
        report = run_audit(ctx.engine, workers=workers, progress=bar.update)
    _report(report, as_json)
    if not report.clean:
        sys.exit(1)


@main.command("rebuild-derived")
@click.option("--workers", type=click.IntRange(0, 64), default=2, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="print the final audit as JSON")
@pass_ctx
@friendly
def rebuild_derived(ctx: Context, workers: int, as_json: bool) -> None:
    """Re-derive every derived table from the log, then audit (e.g. after an upgrade).

    The log is replayed and checked exactly as by `ledger audit`; if it does not hold, nothing
    is changed. Stop the server first: appends made during the replay make it refuse.
    """
    from ledger.custody.rebuild import rebuild_derived as run_rebuild

    upgrade(ctx.engine)
    size = ctx.ledger(sign=False).size()
    with click.progressbar(length=size, label="replaying", file=sys.stderr) as bar:
        report = run_rebuild(ctx.engine, workers=workers, progress=bar.update)
    _report(report, as_json)
    if not report.clean:
        sys.exit(1)


def _report(report: Any, as_json: bool) -> None:
    if as_json:
        divergence = report.divergence
        click.echo(
            json.dumps(
                {
                    "clean": report.clean,
                    "size": report.size,
                    "checkpoints": report.checkpoints,
                    "divergence": None
                    if divergence is None
                    else {"seq": divergence.seq, "reason": divergence.reason},
                }
            )
        )
    elif report.clean:
        click.echo(f"audit clean: {report.size} entries, {report.checkpoints} checkpoints verified")
    else:
        click.echo(f"audit FAILED at {report.divergence}", err=True)


@main.command()
@pass_ctx
@friendly
def checkpoint(ctx: Context) -> None:
    """Print the latest signed checkpoint (a C2SP signed note)."""
    click.echo(ctx.ledger().latest_checkpoint(), nl=False)


@main.command("operator-key")
@pass_ctx
@friendly
def operator_key(ctx: Context) -> None:
    """Print the operator's checkpoint verifier key (name+keyid+base64)."""
    click.echo(str(ctx.ledger(sign=False).verifier_key()))


@main.command("entries")
@click.option("--from", "start", default=0, show_default=True, type=click.IntRange(min=0))
@click.option("--to", "end", default=None, type=click.IntRange(min=0), help="Exclusive end.")
@pass_ctx
@friendly
def entries_cmd(ctx: Context, start: int, end: int | None) -> None:
    """Print entries as JSON lines: seq, leaf_hash (hex), entry (base64 of the exact bytes)."""
    from ledger.custody.log import LOG

    with ctx.engine.connect() as conn:
        query = select(LOG.c.seq, LOG.c.leaf_hash, LOG.c.data).where(LOG.c.seq >= start)
        if end is not None:
            query = query.where(LOG.c.seq < end)
        for row in conn.execution_options(yield_per=1000).execute(query.order_by(LOG.c.seq)):
            click.echo(
                json.dumps(
                    {
                        "seq": row.seq,
                        "leaf_hash": bytes(row.leaf_hash).hex(),
                        "entry": canonical.b64encode(bytes(row.data)),
                    }
                )
            )


@main.group()
def proof() -> None:
    """Merkle proofs (JSON, hashes in hex)."""


@proof.command("inclusion")
@click.argument("seq", type=click.IntRange(min=0))
@click.option("--size", default=None, type=click.IntRange(min=1))
@pass_ctx
@friendly
def proof_inclusion(ctx: Context, seq: int, size: int | None) -> None:
    """Inclusion proof of entry SEQ in the tree of SIZE entries (default: current)."""
    ledger = ctx.ledger(sign=False)
    tree_size, path = ledger.inclusion_proof(seq, size)
    leaf = entries.decode(ledger.entry_bytes(seq), strict=False).leaf_hash
    click.echo(
        json.dumps(
            {
                "seq": seq,
                "tree_size": tree_size,
                "leaf_hash": leaf.hex(),
                "root": ledger.root_at(tree_size).hex(),
                "proof": [h.hex() for h in path],
            }
        )
    )


@proof.command("consistency")
@click.argument("old", type=click.IntRange(min=1))
@click.argument("new", type=click.IntRange(min=1))
@pass_ctx
@friendly
def proof_consistency(ctx: Context, old: int, new: int) -> None:
    """Consistency proof between the trees of OLD and NEW entries."""
    ledger = ctx.ledger(sign=False)
    path = ledger.consistency_proof(old, new)
    click.echo(
        json.dumps(
            {
                "old": old,
                "new": new,
                "old_root": ledger.root_at(old).hex(),
                "new_root": ledger.root_at(new).hex(),
                "proof": [h.hex() for h in path],
            }
        )
    )


@main.command("run-demo", hidden=True)
@click.option("--origin", required=True)
@pass_ctx
@friendly
def run_demo(ctx: Context, origin: str) -> None:
    """`make run`: initialise once, load the demo once, audit, print a lot's provenance."""
    from ledger.cli_show import show_demo

    if not ctx.initialised():
        _init(ctx, origin, "registrar", "Registrar of the demo programme", "CD")
        click.echo(f"initialised the ledger {origin}")
    with ctx.engine.connect() as conn:
        loaded = conn.execute(select(HeadRow.subject).where(HeadRow.subject.like("lot:%"))).first()
    summary = None if loaded else _load_demo(ctx, 1)
    show_demo(ctx.engine, ctx.ledger(), summary)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(1, 65535))
@click.option("--workers", default=2, show_default=True, type=click.IntRange(min=1))
@friendly
def serve(host: str, port: int, workers: int) -> None:
    """Serve the HTTP API under gunicorn.

    Uses the same environment as every command (DATABASE_URL, LEDGER_KEYS_DIR,
    LEDGER_KEY_PASSPHRASE) and refuses to start without the operator and data keys, or when the
    stored tree does not match the latest checkpoint.
    """
    import importlib

    # Loaded only by this command, and by name: the web stack (api/, on the untyped
    # flask-smorest) is outside the strict type check of ledger/ that `make lint` runs.
    serving = importlib.import_module("api.serve")
    serving.run(host, port, workers, echo=click.echo)
