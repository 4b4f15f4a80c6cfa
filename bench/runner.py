"""Choose, run and record benchmarks.

``python -m bench`` runs them all at full scale; ``python -m bench NAME ...`` runs a subset;
``--quick`` runs at a small scale (10k entries instead of 1M) as a smoke test. The cached ledgers
the audit and proof benchmarks need are built first, if missing (not measured). Results are
printed as they come and appended to ``var/bench/results.json``; a benchmark that raises is
recorded as an error and the others still run. See ``BENCHMARKS.md`` for timings.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import cryptography

from bench import append, append_scale, audit, proofs, verify
from bench.build import cached_ledgers, code_version
from bench.context import FULL, QUICK, Context
from bench.ledgers import BENCH_DIR, CODE, ROOT
from bench.measure import Figure, RawVerify
from bench.workload import sample_statement, signing_pool
from ledger.runtime import tune_gc

BENCHMARKS: dict[str, Callable[[Context], list[Figure]]] = {
    "verify": verify.run,
    "append-batch": append.batch,
    "append-single": append.single,
    "append-scale": append_scale.run,
    "audit": audit.run,
    "proof": proofs.run,
    "api": lambda ctx: __import__("bench.api", fromlist=["run"]).run(ctx),  # loads Flask: lazily
    "provenance": lambda ctx: __import__("bench.provenance", fromlist=["run"]).run(ctx),
}
NEEDS_LEDGERS = {"append-scale", "audit", "proof", "provenance"}
RESULTS = BENCH_DIR / "results.json"


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    tune_gc()  # the process settings of the `ledger` command and the server's workers
    names = _names(parser, args.names)
    scale = QUICK if args.quick else FULL
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    record = _run_record(scale.name)
    print(f"bench: {', '.join(names)} at {scale.name} scale; code {record['code_version']}")
    with signing_pool() as pool:
        ctx = Context(scale, pool, RawVerify(sample_statement()))
        if NEEDS_LEDGERS.intersection(names):
            print("-- cached ledgers (built if missing; not measured)", flush=True)
            ctx.ledgers = cached_ledgers(scale.sizes, pool, record["code_version"])
        for name in names:
            record["benchmarks"].append(_run_one(name, ctx))
    record["finished"] = _now()
    _save(record)
    failed = [f["name"] for b in record["benchmarks"] for f in b["figures"] if f["passed"] is False]
    failed += [f"{b['name']} (error)" for b in record["benchmarks"] if "error" in b]
    print(f"bench: {'FAIL: ' + ', '.join(failed) if failed else 'all targets met'}; {RESULTS}")
    return 1 if failed else 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument(
        "names",
        nargs="*",
        metavar="NAME",
        help=f"benchmarks to run (default: all): {', '.join(BENCHMARKS)}",
    )
    parser.add_argument("--quick", action="store_true", help="small scale, a smoke test")
    return parser


def _names(parser: argparse.ArgumentParser, names: list[str]) -> list[str]:
    unknown = [name for name in names if name not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
    return names or list(BENCHMARKS)


def _run_one(name: str, ctx: Context) -> dict[str, Any]:
    """Run one benchmark and print its figures; an error is recorded, and the run goes on."""
    print(f"-- {name}", flush=True)
    load_before, start = os.getloadavg(), time.perf_counter()
    outcome: dict[str, Any] = {"name": name, "load_before": load_before}
    try:
        figures = BENCHMARKS[name](ctx)
    except Exception as exc:  # a broken benchmark must not lose the others' figures
        traceback.print_exc()
        outcome["error"] = f"{type(exc).__name__}: {exc}"
        figures = []
    for figure in figures:
        print(figure.line(), flush=True)
    seconds = time.perf_counter() - start
    print(f"   ({seconds:.0f} s; load average {load_before[0]:.2f} -> {os.getloadavg()[0]:.2f})")
    outcome |= {
        "seconds": round(seconds, 1),
        "load_after": os.getloadavg(),
        "figures": [f.record() for f in figures],
    }
    return outcome


def _run_record(scale: str) -> dict[str, Any]:
    return {
        "started": _now(),
        "command": shlex.join([os.path.basename(sys.executable), "-m", "bench", *sys.argv[1:]]),
        "scale": scale,
        "code_version": code_version(),
        "code_snapshot": str(CODE),
        "git": _git(),
        "machine": {
            "cpus": os.cpu_count(),
            "cpu": _cpu_model(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "cryptography": cryptography.__version__,
        },
        "benchmarks": [],
    }


def _git() -> dict[str, Any]:
    """The commit, and the files that differ from it (others may be editing the tree)."""

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
        return done.stdout.rstrip()

    changed = git("status", "--porcelain", "--", "ledger", "migrations").splitlines()
    return {"head": git("rev-parse", "HEAD").strip(), "changed": [line[3:] for line in changed]}


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _save(record: dict[str, Any]) -> None:
    """Append this run to the results file (a JSON object holding a list of runs)."""
    runs: list[Any] = []
    if RESULTS.exists():
        runs = json.loads(RESULTS.read_text()).get("runs", [])
    runs.append(record)
    partial = RESULTS.with_suffix(".partial")
    partial.write_text(json.dumps({"runs": runs}, indent=1) + "\n")
    partial.replace(RESULTS)
