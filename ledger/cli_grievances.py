"""``ledger grievances ...``: the registrar's view of anonymous grievances, and their conversion.

``list`` and ``show`` read the grievance store (``show`` opens the text with the data key, so it
needs ``LEDGER_KEY_PASSPHRASE``); ``convert`` builds an ``incident`` naming the grievance, signs it
with a local key of the registrar (the server never holds actors' keys), and appends it through
the grievance store, which refuses an unknown or already converted grievance before anything is
appended (:func:`ledger.custody.grievances.convert`). Like ``ledger append``, it suits the
registrar at the ledger's own machine; elsewhere, sign the incident and hand it in at
``POST /v1/grievances/{id}/incident``. Attached to ``ledger`` by :mod:`ledger.cli`; this module
does not import it (no import cycle).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import click
from sqlalchemy import Engine

from ledger.bodies import INCIDENT_CATEGORIES, SEVERITIES, SUBJECT_KINDS
from ledger.cli_support import friendly, local_author
from ledger.config import Settings
from ledger.custody import grievances as service
from ledger.custody.log import Ledger, Result
from ledger.db import make_engine
from ledger.errors import ConflictError, ValidationError
from ledger.keystore import Keystore
from ledger.statements import ID_RE

OPERATOR_KEY = "operator"  # the keystore name ``ledger init`` gives the operator's key


def _settings() -> Settings:
    settings = Settings.from_env()
    settings.ensure_sqlite_dir()
    return settings


def _engine(settings: Settings) -> Engine:
    engine = make_engine(settings.database_url)
    click.get_current_context().call_on_close(engine.dispose)
    return engine


@click.group()
def grievances() -> None:
    """Anonymous grievances about mine sites: list, read, and turn one into an incident."""


@grievances.command("list")
@click.option("--status", type=click.Choice([service.OPEN, service.CONVERTING, service.CONVERTED]))
@click.option("--site", default=None, help="Only this site's grievances.")
@friendly
def list_cmd(status: str | None, site: str | None) -> None:
    """JSON lines, oldest first, without the text."""
    engine = _engine(_settings())
    order = (service.GRIEVANCES.c.received, service.GRIEVANCES.c.id)
    with engine.connect() as conn:
        query = service.listing(conn, site=site, status=status).order_by(*order)
        for row in conn.execute(query):
            click.echo(json.dumps(service.from_row(row).to_json()))


@grievances.command("show")
@click.argument("grievance_id")
@friendly
def show(grievance_id: str) -> None:
    """One grievance with its text (opened with the data key)."""
    settings = _settings()
    sealer = Keystore(settings.keys_dir, settings.passphrase).sealer()
    with _engine(settings).connect() as conn:
        found = service.read(conn, sealer, grievance_id)
    click.echo(json.dumps(found.to_json(), ensure_ascii=False))


@grievances.command("convert")
@click.argument("grievance_id")
@click.option("--key", "key_name", required=True, help="The registrar's local key.")
@click.option("--incident-id", default=None, help="Default: inc-<grievance id>.")
@click.option("--category", type=click.Choice(sorted(INCIDENT_CATEGORIES)), default=None,
              help="Default: the grievance's, if it is an OECD Annex II category.")  # fmt: skip
@click.option("--severity", type=click.Choice(sorted(SEVERITIES)), default="medium",
              show_default=True)  # fmt: skip
@click.option("--subject", default=None, help="KIND:ID (site, actor or lot); default: the site.")
@click.option("--observed", default=None, help="Date observed; default: the day received.")
@click.option("--summary", default=None, help="A public one-line summary (no personal data).")
@click.option("--details", default=None, help="Private details (a disclosure).")
@click.option("--copy-text", is_flag=True, help="Use the grievance's text as the details.")
@friendly
def convert(grievance_id: str, key_name: str, **options: Any) -> None:
    """Sign an incident naming GRIEVANCE_ID with a local key and append it."""
    settings = _settings()
    keystore = Keystore(settings.keys_dir, settings.passphrase)
    signer, sealer = keystore.load(key_name), keystore.sealer()
    engine = _engine(settings)
    ledger = Ledger(engine, operator=keystore.load(OPERATOR_KEY), sealer=sealer)
    with engine.connect() as conn:
        found = service.read(conn, sealer, grievance_id)
        author = local_author(conn, ledger.origin(), signer, key_name)
    if found.status == service.CONVERTED:  # before signing: a new statement would only fail
        raise ConflictError(
            f"grievance {grievance_id} is already converted into incident {found.incident} "
            f"(entry {found.converted_seq}); a grievance becomes one incident. Resolve that "
            "incident, or report another.",
            code="grievance_converted",
        )
    body, private = incident_body(found, options)
    submission = author.sign("incident", body, time=datetime.now(UTC), private=private or None)
    result = service.convert(
        engine,
        submission.envelope.statement,
        grievance_id,
        lambda: ledger.append(submission),
        _seq_of,
    )
    ledger.latest_checkpoint()
    click.echo(
        json.dumps(
            {
                "status": result.status,
                "seq": result.seq,
                "leaf_hash": result.leaf_hash.hex() if result.leaf_hash else None,
                "incident": body["id"],
                "grievance": grievance_id,
            }
        )
    )


def _seq_of(result: Result) -> int:
    assert result.seq is not None  # an appended or duplicate statement has its entry
    return result.seq


def incident_body(
    found: service.Grievance, options: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The incident's body and private fields, from the grievance and the command's options."""
    category = options.get("category") or found.category
    if category not in INCIDENT_CATEGORIES:
        raise ValidationError(
            f"grievance {found.id} is about {found.category}, not an OECD Annex II risk; choose "
            "the incident's category with --category.",
            field="--category",
        )
    kind, _, subject = (options.get("subject") or f"site:{found.site}").partition(":")
    if kind not in SUBJECT_KINDS or not ID_RE.match(subject):
        raise ValidationError("--subject must be KIND:ID, KIND site, actor or lot.")
    body: dict[str, Any] = {
        "id": options.get("incident_id") or f"inc-{found.id}",
        "category": category,
        "severity": options.get("severity") or "medium",
        "subject": {"kind": kind, "id": subject},
        "observed": options.get("observed") or found.received,
        "grievance": found.id,
    }
    if options.get("summary"):
        body["summary"] = options["summary"]
    details = found.text if options.get("copy_text") else options.get("details")
    return body, ({"details": details} if details else {})
