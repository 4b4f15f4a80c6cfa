"""The buyer's offline check of a proof bundle: ``ledger verify-bundle FILE --key VERIFIER_KEY``.

Built from the pure core alone (``cryptography``, ``rfc8785``, the standard library): it reads
the bundle file and, with ``--since``, an older checkpoint file the buyer kept, runs
:func:`ledger.bundle.verify` and prints one line per check, then the verdict. Exit status 0 only
when every check holds; 1 when one fails; 2 for unusable arguments (a missing file, a malformed
key). The same runs as ``python -m ledger.verify_bundle`` where the ``ledger`` command (and its
database and web dependencies) is not installed.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from ledger.bundle import MAX_BUNDLE_BYTES, Verdict, verify
from ledger.checkpoint import MAX_NOTE_BYTES, VerifierKey
from ledger.errors import LedgerError

OK, FAILED, USAGE = 0, 1, 2


def read_limited(path: str, limit: int) -> bytes:
    """The file's bytes, refusing files over ``limit`` (a bundle is never that big)."""
    with Path(path).open("rb") as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise OSError(f"{path} is larger than {limit} bytes")
    return data


def run(
    bundle_path: str, key_text: str, since_path: str | None, echo: Callable[[str], None]
) -> int:
    """Verify and print; return the exit status."""
    try:
        key = VerifierKey.parse(key_text.strip())
    except LedgerError as exc:
        echo(f"error [{exc.code}]: the verifier key is malformed: {exc.message}")
        return USAGE
    try:
        data = read_limited(bundle_path, MAX_BUNDLE_BYTES)
        since = None if since_path is None else read_limited(since_path, MAX_NOTE_BYTES)
    except OSError as exc:
        echo(f"error [io]: cannot read {exc.filename or bundle_path}: {exc.strerror or exc}")
        return USAGE
    verdict = verify(data, key, since=since)
    for line in report(verdict):
        echo(line)
    return OK if verdict.ok else FAILED


def report(verdict: Verdict) -> list[str]:
    """The printed report: a line per check, warnings, then the verdict."""
    lines = [f"{'ok  ' if c.ok else 'FAIL'} {c.name}: {c.detail}" for c in verdict.checks]
    flags = verdict.replay.flags if verdict.replay else []
    lines += [f"flag {f.subject} [{f.code}]: {f.message}" for f in flags]
    lines += [f"warn {warning}" for warning in verdict.warnings]
    if verdict.ok and verdict.checkpoint is not None and verdict.bundle is not None:
        lines.append(
            f"VERIFIED: lot {verdict.bundle.lot}, {len(verdict.entries)} entries, against "
            f"checkpoint {verdict.checkpoint.size} of {verdict.checkpoint.origin}"
        )
    else:
        lines.append(f"NOT VERIFIED: {len(verdict.reasons)} check(s) failed")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="verify-bundle", description="Check a lot's proof bundle offline."
    )
    parser.add_argument("file", help="the bundle (GET /v1/lots/{id}/bundle)")
    parser.add_argument("--key", required=True, help="the operator's verifier key")
    parser.add_argument("--since", help="an older signed checkpoint you kept (a file)")
    args = parser.parse_args(argv)
    return run(args.file, args.key, args.since, print)


if __name__ == "__main__":
    sys.exit(main())
