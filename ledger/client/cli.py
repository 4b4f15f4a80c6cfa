"""``ledger client ...``: an actor's command line over :class:`~ledger.client.Client`.

``init`` writes the server URL, the actor, the key's name in the keystore, the name of the
environment variable holding the API token and the operator's verifier key into a new journal;
the other commands read them from there. The token itself is never written anywhere: it is read
from that variable (default ``LEDGER_API_TOKEN``) by each command that talks to the server. Keys
come from the keystore of ``LEDGER_KEYS_DIR``, unlocked with ``LEDGER_KEY_PASSPHRASE``, and only
``sign`` needs one.

Exit status: 0 done; 1 an error or a rejected statement (one line ``error [code]: sentence``);
2 the server forked or rolled back its log (both signed checkpoints are printed); 75
(``EX_TEMPFAIL``) the server is unreachable: everything stays in the journal, run it again later.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import wraps
from typing import Any, NoReturn, TypeVar

import click
import httpx

from ledger.checkpoint import VerifierKey
from ledger.cli_support import json_arg
from ledger.client.client import Client, SyncReport
from ledger.client.errors import ForkError, UnreachableError
from ledger.client.journal import Journal, JournalItem
from ledger.client.verify import SeenCheckpoint
from ledger.config import Settings
from ledger.crypto import Ed25519Signer
from ledger.errors import ConfigError, ConflictError, LedgerError, ValidationError
from ledger.keystore import Keystore
from ledger.rules import HANDLERS

F = TypeVar("F", bound=Callable[..., Any])
EXIT_ERROR, EXIT_FORK, EXIT_UNREACHABLE = 1, 2, 75
DEFAULT_TOKEN_ENV = "LEDGER_API_TOKEN"  # noqa: S105 (the name of a variable, not a secret)
_SETTINGS = ("url", "actor", "key", "token_env")


@dataclass(frozen=True)
class Hooks:
    """What a caller (the tests) may inject through ``obj=``: the HTTP transport."""

    transport: httpx.BaseTransport | None = None


def _fail(message: str, status: int) -> NoReturn:
    click.echo(message, err=True)
    sys.exit(status)


def friendly(func: F) -> F:
    """Print one clear line (and a fork's evidence) instead of a traceback; set the exit status."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ForkError as exc:
            _fail(f"error [{exc.code}]: {exc.message}\n{exc.evidence()}", EXIT_FORK)
        except UnreachableError as exc:
            _fail(f"error [{exc.code}]: {exc.message}", EXIT_UNREACHABLE)
        except LedgerError as exc:
            _fail(f"error [{exc.code}]: {exc.message}", EXIT_ERROR)

    return wrapper  # type: ignore[return-value]


journal_option = click.option(
    "--journal",
    "journal_path",
    envvar="LEDGER_CLIENT_JOURNAL",
    default="ledger-client.db",
    show_default=True,
    type=click.Path(dir_okay=False),
    help="The journal file (or LEDGER_CLIENT_JOURNAL).",
)


@click.group("client")
def client() -> None:
    """Sign as an actor, keep a local journal, sync it with a ledger server, watch the log.

    The API token is read from the variable named at init (default LEDGER_API_TOKEN), never
    stored. Exit status: 0 done; 1 an error or a rejected statement; 2 the server forked or
    rolled back its log (both signed checkpoints are printed); 75 the server is unreachable
    (nothing is lost: run it again later).
    """


@client.command()
@click.option("--url", required=True, help="The ledger server, e.g. https://ledger.example.org.")
@click.option("--actor", required=True, help="The actor id to sign as.")
@click.option("--key", "key_name", required=True, help="The key's name in the keystore.")
@click.option(
    "--token-env",
    default=DEFAULT_TOKEN_ENV,
    show_default=True,
    help="The environment variable that will hold the API token (the token is never stored).",
)
@click.option(
    "--operator-key", required=True, help="The operator's verifier key (ledger operator-key)."
)
@journal_option
@friendly
def init(
    url: str, actor: str, key_name: str, token_env: str, operator_key: str, journal_path: str
) -> None:
    """Create a journal for ACTOR signing with KEY against the server at URL."""
    key = VerifierKey.parse(operator_key)
    settings = Settings.from_env()
    if not Keystore(settings.keys_dir, settings.passphrase).exists(key_name):
        raise ConfigError(
            f"no key named {key_name!r} in {settings.keys_dir}; create it with "
            "`ledger keys new` and have the registrar register its public key.",
            code="no_key",
        )
    with Journal.open(journal_path) as journal:
        if journal.setting("url") is not None:
            raise ConflictError(
                f"{journal_path} is already set up for {journal.setting('actor')} at "
                f"{journal.setting('url')}; use another journal file.",
                code="already_initialised",
            )
        values = {"url": url, "actor": actor, "key": key_name, "token_env": token_env}
        journal.put_settings({**values, "verifier_key": str(key)})
    click.echo(json.dumps({"journal": journal_path, **values, "operator_key": str(key)}))


@client.command()
@click.argument("statement_type", metavar="TYPE", type=click.Choice(sorted(HANDLERS)))
@click.option("--body", required=True, help="The public body as JSON, or @FILE.")
@click.option("--private", default=None, help="Private fields as a JSON object, or @FILE.")
@click.option(
    "--after",
    default=None,
    help='Heads to sign after, as JSON {"subject": "hex leaf hash"} (default: from the journal, '
    "or for lots from the server).",
)
@click.option("--offline", is_flag=True, help="Only sign and journal; do not contact the server.")
@journal_option
@friendly
def sign(
    statement_type: str,
    body: str,
    private: str | None,
    after: str | None,
    offline: bool,
    journal_path: str,
) -> None:
    """Sign a TYPE statement, keep it in the journal, and send it unless --offline.

    When the server is unreachable the statement stays pending (exit 0, a note on stderr);
    `ledger client sync` sends it.
    """
    body_value = _object_arg(body, "--body")
    private_value = _object_arg(private, "--private") if private else None
    after_value = _object_arg(after, "--after") if after else None
    with _client(journal_path, signing=True) as cli:
        item = cli.sign(
            statement_type, body_value, private=private_value, after=after_value, offline=offline
        )
        if not offline:
            item = _send(cli, item)
    click.echo(json.dumps(_item_json(item)))
    if item.status == "rejected":
        _fail(f"error [{item.error_code}]: {item.error_message}", EXIT_ERROR)


def _send(cli: Client, item: JournalItem) -> JournalItem:
    """Sync right after signing; whatever happens, the statement is safe in the journal."""
    try:
        report = cli.sync()
    except LedgerError:
        click.echo(json.dumps(_item_json(item)))
        click.echo(f"statement #{item.id} is kept in the journal, pending.", err=True)
        raise
    if report.problem:
        click.echo(
            f"pending: {report.problem} Statement #{item.id} is kept in the journal; "
            "`ledger client sync` sends it later.",
            err=True,
        )
    return cli.journal.item(item.id)


@client.command()
@journal_option
@friendly
def sync(journal_path: str) -> None:
    """Push the pending statements in order, verify and keep each receipt."""
    with _client(journal_path) as cli:
        pending = cli.journal.counts()["pending"]
        with click.progressbar(length=pending, label="syncing", file=sys.stderr) as bar:
            report = cli.sync(progress=bar.update)
    click.echo(json.dumps(_report_json(report)))
    for item in report.rejected:
        click.echo(
            f"rejected #{item.id} ({item.type}, n={item.n}) [{item.error_code}]: "
            f"{item.error_message}",
            err=True,
        )
    if report.problem:
        message = f"error [unreachable]: {report.problem} {report.pending} still pending."
        _fail(message, EXIT_UNREACHABLE)
    if report.rejected:
        sys.exit(EXIT_ERROR)


@client.command()
@journal_option
@friendly
def status(journal_path: str) -> None:
    """Counts of pending, accepted, duplicate and rejected statements; the newest checkpoint."""
    with _client(journal_path) as cli:
        state = cli.status()
    click.echo(
        json.dumps(
            {
                **state.counts,
                "checkpoint": _checkpoint_json(state.checkpoint),
                "rejected_statements": [_item_json(item) for item in state.rejected],
            }
        )
    )


@client.command()
@journal_option
@friendly
def check(journal_path: str) -> None:
    """Fetch the latest checkpoint and prove it consistent with the newest one seen."""
    with _client(journal_path) as cli:
        before = cli.journal.newest_checkpoint()
        latest = cli.check()
    out = _checkpoint_json(latest) or {}
    out["previous_size"] = None if before is None else before.size
    click.echo(json.dumps(out))


# -- helpers ------------------------------------------------------------------------------------
@contextmanager
def _client(journal_path: str, *, signing: bool = False) -> Iterator[Client]:
    """The client the journal's settings describe; the journal must have been initialised."""
    if not os.path.exists(journal_path):
        raise ConfigError(
            f"there is no journal at {journal_path}; run `ledger client init` first.",
            code="no_journal",
        )
    with Journal.open(journal_path) as journal:
        values = journal.settings()
        missing = [name for name in _SETTINGS if name not in values]
        if missing:
            raise ConfigError(
                f"{journal_path} is not set up; run `ledger client init`.", code="no_journal"
            )
        hooks = click.get_current_context().find_object(Hooks) or Hooks()
        cli = Client(
            values["url"],
            token=os.environ.get(values["token_env"]) or None,
            signer=_signer(values["key"]) if signing else None,
            actor=values["actor"],
            journal=journal,
            verifier_key=None,  # pinned at init
            transport=hooks.transport,
        )
        with cli:
            yield cli


def _signer(name: str) -> Ed25519Signer:
    settings = Settings.from_env()
    return Keystore(settings.keys_dir, settings.passphrase).load(name)


def _object_arg(text: str, option: str) -> dict[str, Any]:
    value = json_arg(text, option)
    if not isinstance(value, dict):
        raise ValidationError(f"{option} must be a JSON object.", field=option.lstrip("-"))
    return value


def _item_json(item: JournalItem) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": item.id,
        "type": item.type,
        "actor": item.actor,
        "key": item.key_id,
        "n": item.n,
        "status": item.status,
    }
    if item.seq is not None and item.leaf_hash is not None:
        out.update(seq=item.seq, leaf_hash=item.leaf_hash.hex())
    if item.error_code is not None:
        out.update(code=item.error_code, message=item.error_message)
    return out


def _checkpoint_json(seen: SeenCheckpoint | None) -> dict[str, Any] | None:
    if seen is None:
        return None
    return {"size": seen.size, "root": seen.root.hex(), "note": seen.note}


def _report_json(report: SyncReport) -> dict[str, Any]:
    return {
        "accepted": report.accepted,
        "duplicate": report.duplicate,
        "rejected": len(report.rejected),
        "pending": report.pending,
        "checkpoint": _checkpoint_json(report.checkpoint),
    }
