"""Run the benchmarks on a frozen copy of the code, not on a working tree that may change.

A full run takes the better part of an hour, and the working tree is shared: if ``ledger/`` or
``migrations/`` change half-way, the run would mix two versions (the audit runs in subprocesses
that import the code afresh; a fresh database would get a newer schema than the running code
knows). So ``python -m bench`` first copies ``bench/``, ``ledger/`` and ``migrations/`` to
``var/bench/code/<hash>/`` and re-executes itself from there: every process of the run, pool
workers and audit subprocesses included, imports that copy. Data (cached ledgers, results)
stays under the real ``var/bench/``, found through ``BENCH_ROOT``. Setting ``BENCH_ROOT`` yourself
runs the working tree in place, without a snapshot (a profiler such as py-spy does not follow the
re-exec).

Standard library only: this runs before anything of the ledger is imported.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
from pathlib import Path

PACKAGES = ("bench", "ledger", "migrations")
SUFFIXES = (".py", ".ini", ".mako")
ROOT_VARIABLE = "BENCH_ROOT"
KEEP = 5  # snapshots kept (they are small); older ones are removed


def repo_root() -> Path:
    """The working tree whose ``var/bench/`` holds the data, in the snapshot or not."""
    pinned = os.environ.get(ROOT_VARIABLE)
    return Path(pinned) if pinned else Path(__file__).resolve().parent.parent


def run_frozen() -> None:
    """Return when this process runs from a snapshot; otherwise make one and exec into it."""
    if os.environ.get(ROOT_VARIABLE):
        return
    root = repo_root()
    files = sorted(
        path
        for package in PACKAGES
        for path in (root / package).rglob("*")
        if path.suffix in SUFFIXES and "__pycache__" not in path.parts
    )
    digest = hashlib.sha256()
    for path in files:
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    target = root / "var" / "bench" / "code" / digest.hexdigest()[:12]
    if not target.exists():
        _copy(root, files, target)
    _prune(target.parent)
    os.environ[ROOT_VARIABLE] = str(root)
    os.chdir(target)
    os.execv(sys.executable, [sys.executable, "-m", "bench", *sys.argv[1:]])


def _copy(root: Path, files: list[Path], target: Path) -> None:
    partial = target.with_name(target.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    for path in files:
        destination = partial / path.relative_to(root)
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, destination)
    partial.rename(target)


def _prune(folder: Path) -> None:
    snapshots = sorted(folder.iterdir(), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in snapshots[KEEP:]:
        shutil.rmtree(old, ignore_errors=True)
