"""``ledger verify-bundle``, ``ledger bundle`` and ``ledger qr``: provenance on the command line.

``verify-bundle`` is the buyer's offline check (:mod:`ledger.verify_bundle`, pure core only: it
opens no database). ``bundle`` writes a lot's proof bundle from the configured database, and
``qr`` a printable label whose QR code carries the lot's public page URL
(``LEDGER_PUBLIC_URL`` or ``--base-url``) with a prefix of its head hash. Attached to the
``ledger`` command by :mod:`ledger.cli`; this module does not import it (no import circle).
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
from sqlalchemy import Engine, select

from ledger import qr
from ledger.cli_support import friendly
from ledger.config import Settings
from ledger.custody.bundles import bundle_bytes
from ledger.custody.log import Ledger
from ledger.custody.models import LotRow
from ledger.custody.provenance import lot_head
from ledger.db import make_engine
from ledger.errors import ConfigError, LedgerError, NotFoundError
from ledger.keystore import Keystore
from ledger.verify_bundle import run as run_verify

DEFAULT_PUBLIC_URL = "http://127.0.0.1:8080"  # what `make run` serves
OPERATOR_KEY = "operator"  # the keystore name `ledger init` gives the operator key


@click.command("verify-bundle")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--key", "key", required=True, help="The operator's verifier key (origin+id+key).")
@click.option(
    "--since",
    type=click.Path(dir_okay=False),
    help="An older signed checkpoint you kept: demand a consistency proof from it.",
)
def verify_bundle(file: str, key: str, since: str | None) -> None:
    """Check a lot's proof bundle offline; exit 0 only when it holds."""
    sys.exit(run_verify(file, key, since, click.echo))


def _ledger(settings: Settings) -> Ledger:
    """The log service; with the operator key when it can be unlocked, so that the bundle is
    proven against a checkpoint of the current size (otherwise the latest one kept)."""
    operator = None
    if settings.passphrase:
        try:
            operator = Keystore(settings.keys_dir, settings.passphrase).load(OPERATOR_KEY)
        except LedgerError:
            operator = None
    return Ledger(_engine(settings), operator=operator)


def _engine(settings: Settings) -> Engine:
    engine = make_engine(settings.database_url)
    click.get_current_context().call_on_close(engine.dispose)
    return engine


@click.command("bundle")
@click.argument("lot")
@click.option("--out", type=click.Path(dir_okay=False), help="Write here instead of stdout.")
@click.option("--since", type=click.IntRange(min=1), help="Add a consistency proof from this size.")
@friendly
def bundle(lot: str, out: str | None, since: int | None) -> None:
    """Write LOT's proof bundle (the bytes GET /v1/lots/{id}/bundle serves)."""
    data = bundle_bytes(_ledger(Settings.from_env()), lot, since=since)
    if out is None:
        click.echo(data.decode("utf-8"))
    else:
        Path(out).write_bytes(data)
        click.echo(f"wrote the bundle of lot {lot} to {out} ({len(data)} bytes)", err=True)


@click.command("qr")
@click.argument("lot")
@click.option("--out", type=click.Path(dir_okay=False), help="Label file (default LOT.svg).")
@click.option("--base-url", help="Public URL of the ledger's pages (default LEDGER_PUBLIC_URL).")
@friendly
def qr_label(lot: str, out: str | None, base_url: str | None) -> None:
    """Write a printable label for LOT: QR code, lot id, mineral and mass (SVG, 60 x 80 mm)."""
    settings = Settings.from_env()
    base = base_url or settings.public_url
    if base is None:
        click.echo(f"note: LEDGER_PUBLIC_URL is not set; the QR code points to "
                   f"{DEFAULT_PUBLIC_URL}", err=True)  # fmt: skip
        base = DEFAULT_PUBLIC_URL
    if not base.startswith(("https://", "http://")):
        raise ConfigError("the public URL must start with https:// or http://.", code="invalid")
    with _engine(settings).connect() as conn:
        row = conn.execute(
            select(LotRow.mineral, LotRow.form, LotRow.mass_g).where(LotRow.id == lot)
        ).first()
        if row is None:
            raise NotFoundError(f"there is no lot {lot!r}.", code="unknown_lot")
        head = lot_head(conn, lot)
    url = qr.page_url(base, lot, head)
    target = Path(out or f"{lot}.svg")
    target.write_text(qr.label_svg(url, lot, row.mineral, row.form, row.mass_g), encoding="utf-8")
    click.echo(f"wrote the label of lot {lot} to {target}: {url}")
