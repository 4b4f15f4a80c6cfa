"""The HTTP API (issue 3): submissions through ``ledger serve``, from a load generator on loopback.

For each engine (SQLite with ``synchronous=FULL``; PostgreSQL when it answers) a fresh ledger is
seeded with the benchmark registry, the warm-up waves and an API token per actor
(:mod:`bench.api_server`), and the real server starts as its own process (``ledger serve``:
gunicorn with its default workers, on ``127.0.0.1``). The load generator is another process
(:mod:`bench.api_load`: asyncio, kept-alive connections, requests encoded before the clock).
Every statement is signed, and every request encoded, before its clock starts.

- ``api.stack.<engine>`` and ``.p99``: the baseline, measured right after the warm-up: the
  warm-up's requests sent again to ``ledger serve``'s HTTP stack with no ledger behind it
  (:mod:`bench.api_stack`: the same gunicorn settings, a JSON parse, one Ed25519 verification
  and a real receipt's bytes per request), closed loop as ``api.single``, then open loop as
  ``api.latency``. No target: it is the raw limit of submissions over HTTP on this machine in
  this run, and ``api.single`` reports its ratio to it.
- ``api.single.<engine>``: ``POST /v1/statements``, closed loop with :data:`CONCURRENCY`
  requests in flight, one wave of the steady mix at a time (a wave's ``after`` heads come from
  the previous wave's answers). Statements/s per wave. Target: >= 1,000/s.
- ``api.latency.<engine>.p50`` / ``.p99``: the same requests, open loop, one due every
  1/:data:`OPEN_RATE` s on a timetable, latency from the due time (so a server that falls behind
  cannot hide it); all waves' latencies pooled. Target: p99 < 50 ms.
- ``api.batch.<engine>``: ``POST /v1/statements/batch`` with :data:`api.limits.MAX_BATCH`
  lot registrations by one cooperative each (a token may hand in only its own actor's
  statements), :data:`BATCH_CONCURRENCY` batches in flight, each from another cooperative.
  Statements/s per round. Target: >= 8,000/s.

Each sample is paired with a 0.25 s window of raw single-core Ed25519 verification measured
just before it, while nothing else of the benchmark runs. The load generator's own CPU and the
server's (all its processes, from ``/proc``) are recorded with every figure.
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from api.limits import MAX_BATCH
from bench.api_load import Answer, Request, encode_request
from bench.api_server import Server, free_port, issue_tokens, running, seed_ledger, serving
from bench.context import Context
from bench.ledgers import (
    BENCH_DIR,
    CODE,
    fresh_sqlite,
    postgres_database,
    postgres_problem,
    remove_sqlite,
    sqlite_url,
)
from bench.measure import Figure, median, ratio_figure
from bench.workload import COOPERATIVES, LotState, Workload, sign_spec
from ledger.custody.log import ACCEPTED, DUPLICATE, Result
from ledger.db import make_engine
from ledger.statements import Submission

SINGLE_TARGET = 1_000.0  # statements/s
P99_TARGET_MS = 50.0
BATCH_TARGET = 8_000.0  # statements/s
OPEN_RATE = 300.0  # requests/s of the latency run
CONCURRENCY = 32  # requests in flight in the closed loop
BATCH_CONCURRENCY = 4
STACK_WAVES = 3  # closed-loop samples of the bare HTTP stack
BATCH_LOTS = 10_000_000  # lot numbers of the batch registrations start here (apart from waves)


@dataclass(frozen=True)
class ApiScale:
    wave: int  # statements per wave of the single-submission runs
    closed_waves: int
    open_waves: int
    batch_rounds: int
    batches_per_round: int


SCALES = {
    "full": ApiScale(wave=1000, closed_waves=7, open_waves=3, batch_rounds=5, batches_per_round=20),
    "quick": ApiScale(wave=300, closed_waves=3, open_waves=2, batch_rounds=3, batches_per_round=4),
}


def run(ctx: Context) -> list[Figure]:
    scale = SCALES[ctx.scale.name]
    figures = _on_sqlite(ctx, scale)
    problem = postgres_problem()
    if problem is None:
        figures += _on_postgres(ctx, scale)
    else:
        print(f"  PostgreSQL skipped: {problem}")
    return figures


def _on_sqlite(ctx: Context, scale: ApiScale) -> list[Figure]:
    path = BENCH_DIR / "api.db"
    with ExitStack() as stack:
        engine = fresh_sqlite(path)  # make_engine: WAL, synchronous=FULL
        stack.callback(remove_sqlite, path)
        stack.callback(engine.dispose)
        return _on(ctx, scale, "sqlite", sqlite_url(path), engine)


def _on_postgres(ctx: Context, scale: ApiScale) -> list[Figure]:
    with ExitStack() as stack:
        url = stack.enter_context(postgres_database("api"))
        engine = make_engine(url)
        stack.callback(engine.dispose)
        return _on(ctx, scale, "postgresql", url, engine)


def _on(ctx: Context, scale: ApiScale, where: str, url: str, engine: Any) -> list[Figure]:
    keys_dir = BENCH_DIR / f"api-{where}-keys"
    workload = Workload(pool=ctx.pool)
    try:
        seed_ledger(engine, keys_dir, workload, wave=scale.wave)
        issued = issue_tokens(engine)
        engine.dispose()
        with serving(url, keys_dir, issued, where) as server, load_generator(server) as load:
            bench = _Bench(ctx, scale, where, server, load, workload)
            bench.warm_up()
            figures = bench.stack()
            figures += bench.single()
            figures += bench.latency()
            figures += bench.batch()
    finally:
        shutil.rmtree(keys_dir, ignore_errors=True)  # the server's log is kept beside it
    return figures


class LoadGenerator:
    """The :mod:`bench.api_load` process: one job at a time, over pickles on its pipes."""

    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        self.process = process

    def run(self, mode: str, requests: list[Request], concurrency: int, rate: float = 0.0) -> Any:
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        job = {"mode": mode, "requests": requests, "concurrency": concurrency, "rate": rate}
        pickle.dump(job, self.process.stdin, protocol=pickle.HIGHEST_PROTOCOL)
        self.process.stdin.flush()
        return pickle.load(self.process.stdout)


@contextmanager
def load_generator(server: Server) -> Iterator[LoadGenerator]:
    command = [sys.executable, "-m", "bench.api_load", server.host, str(server.port)]
    process = subprocess.Popen(command, cwd=CODE, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        yield LoadGenerator(process)
    finally:
        assert process.stdin is not None
        process.stdin.close()
        process.wait(timeout=30)


class _Bench:
    """The runs against one server, sharing its ledger and the workload's counters and heads."""

    def __init__(
        self,
        ctx: Context,
        scale: ApiScale,
        where: str,
        server: Server,
        load: LoadGenerator,
        workload: Workload,
    ) -> None:
        self.ctx, self.scale, self.where = ctx, scale, where
        self.server, self.load, self.workload = server, load, workload
        self.batch_lots = [0] * COOPERATIVES
        self.stack_rate: float | None = None
        self.sent: list[Request] = []  # the requests of the last wave, and ...
        self.receipt = b""  # ... the body of one answer to them

    def warm_up(self) -> None:
        """One wave through the API before any clock: workers' caches, connections, JIT-less
        first-request costs."""
        self._wave("closed", CONCURRENCY)

    def stack(self) -> list[Figure]:
        """The baseline: the warm-up's requests sent again to ``ledger serve``'s bare HTTP stack
        (:mod:`bench.api_stack`), closed loop as :meth:`single`, then open loop at
        :data:`OPEN_RATE` as :meth:`latency`; raw windows beside each."""
        rates, raws, details = [], [], []
        with stack_server(self.receipt) as stack, load_generator(stack) as load:
            load.run("closed", self.sent, CONCURRENCY)  # warm-up
            for _ in range(STACK_WAVES):
                raws.append(self.ctx.raw.rate(0.25))
                outcome = _timed(stack, load, "closed", self.sent, CONCURRENCY)
                _check_stack(outcome)
                rates.append(len(self.sent) / outcome["elapsed"])
                details.append(_detail(stack, outcome, len(self.sent)))
            raw = self.ctx.raw.rate(0.25)
            outcome = _timed(stack, load, "open", self.sent, 16, OPEN_RATE)
            _check_stack(outcome)
        figure = ratio_figure(
            f"api.stack.{self.where}",
            rates,
            raws,
            unit="requests/s",
            raw_unit="verify/s",
            extra={"concurrency": CONCURRENCY, "runs": details},
        )
        self.stack_rate = figure.value
        found = _percentiles([latency for _, _, latency in _answers(outcome)])
        p99 = Figure(
            f"api.stack.{self.where}.p99",
            found["p99_ms"],
            f"ms @ {OPEN_RATE:.0f}/s",
            raw=raw,
            raw_unit="verify/s",
            samples=len(self.sent),
            extra={"rate": OPEN_RATE, "run": _detail(stack, outcome, len(self.sent)), **found},
        )
        _print_detail(figure.name, details)
        return [figure, p99]

    def single(self) -> list[Figure]:
        rates, raws, latencies, details = [], [], [], []
        for _ in range(self.scale.closed_waves):
            raws.append(self.ctx.raw.rate(0.25))
            outcome = self._wave("closed", CONCURRENCY)
            rates.append(outcome["count"] / outcome["elapsed"])
            latencies += outcome["latencies"]
            details.append(outcome["detail"])
        figure = ratio_figure(
            f"api.single.{self.where}",
            rates,
            raws,
            unit="statements/s",
            raw_unit="verify/s",
            extra={"concurrency": CONCURRENCY, "runs": details, **_percentiles(latencies)},
        )
        figure.target = f">= {SINGLE_TARGET:,.0f}/s"
        figure.passed = figure.value >= SINGLE_TARGET
        if self.stack_rate:
            figure.extra["stack_ratio"] = figure.value / self.stack_rate
            print(
                f"   {figure.name}: {figure.value / self.stack_rate:.2f} x the bare HTTP stack's "
                f"{self.stack_rate:,.0f} requests/s in this run",
                flush=True,
            )
        _print_detail(figure.name, details)
        return [figure]

    def latency(self) -> list[Figure]:
        raws, latencies, details = [], [], []
        for _ in range(self.scale.open_waves):
            raws.append(self.ctx.raw.rate(0.25))
            outcome = self._wave("open", 16, rate=OPEN_RATE)
            latencies += outcome["latencies"]
            details.append(outcome["detail"])
        found = _percentiles(latencies)
        raw = median(raws)
        extra = {"rate": OPEN_RATE, "runs": details, "raws": raws, **found}
        p50 = Figure(
            f"api.latency.{self.where}.p50",
            found["p50_ms"],
            f"ms @ {OPEN_RATE:.0f}/s",
            raw=raw,
            raw_unit="verify/s",
            samples=len(latencies),
            extra=extra,
        )
        p99 = Figure(
            f"api.latency.{self.where}.p99",
            found["p99_ms"],
            f"ms @ {OPEN_RATE:.0f}/s",
            raw=raw,
            raw_unit="verify/s",
            target=f"< {P99_TARGET_MS:g} ms",
            passed=found["p99_ms"] < P99_TARGET_MS,
            samples=len(latencies),
            extra=extra,
        )
        _print_detail(p99.name, details)
        return [p50, p99]

    def batch(self) -> list[Figure]:
        rates, raws, details = [], [], []
        for _ in range(self.scale.batch_rounds):
            requests, count = self._batches(self.scale.batches_per_round)
            raws.append(self.ctx.raw.rate(0.25))
            cpu_before = _tree_cpu(self.server.process.pid)
            outcome = self.load.run("closed", requests, BATCH_CONCURRENCY)
            outcome["server_cpu"] = _tree_cpu(self.server.process.pid) - cpu_before
            for status, body, _ in _answers(outcome):
                _check_batch(status, body)
            rates.append(count / outcome["elapsed"])
            details.append(_detail(self.server, outcome, count))
        figure = ratio_figure(
            f"api.batch.{self.where}",
            rates,
            raws,
            unit="statements/s",
            raw_unit="verify/s",
            extra={"batch": MAX_BATCH, "concurrency": BATCH_CONCURRENCY, "runs": details},
        )
        figure.target = f">= {BATCH_TARGET:,.0f}/s"
        figure.passed = figure.value >= BATCH_TARGET
        _print_detail(figure.name, details)
        return [figure]

    # -- requests ------------------------------------------------------------------------------
    def _wave(self, mode: str, concurrency: int, rate: float = 0.0) -> dict[str, Any]:
        """Sign a wave of the steady mix, send it, and learn its heads from the answers."""
        wave = self.workload.wave(self.scale.wave)
        order = _spread(wave)
        requests = [self._single(wave[i]) for i in order]
        outcome = _timed(self.server, self.load, mode, requests, concurrency, rate)
        self.sent, self.receipt = requests, _answers(outcome)[0][1]
        results: list[Result | None] = [None] * len(wave)
        for index, (status, body, _) in zip(order, _answers(outcome), strict=True):
            results[index] = _single_result(status, body)
        self.workload.accept([r for r in results if r is not None])
        return {
            "count": len(wave),
            "elapsed": outcome["elapsed"],
            "latencies": [latency for _, _, latency in _answers(outcome)],
            "detail": _detail(self.server, outcome, len(wave)),
        }

    def _single(self, submission: Submission) -> Request:
        statement = submission.envelope.statement
        token = self.server.tokens[statement.actor]
        body = _body(submission)
        host = f"{self.server.host}:{self.server.port}"
        return statement.key, encode_request(host, "/v1/statements", token, body)

    def _batches(self, count: int) -> tuple[list[Request], int]:
        """``count`` full batches of lot registrations, each by another cooperative (signed
        here, before the clock)."""
        specs = []
        for number in range(count):
            coop = number % COOPERATIVES
            for _ in range(MAX_BATCH):
                lot = LotState(BATCH_LOTS + coop + COOPERATIVES * self.batch_lots[coop])
                self.batch_lots[coop] += 1
                specs.append(self.workload._step(lot))  # a registration: stage 0
        signed = list(self.ctx.pool.map(sign_spec, specs, chunksize=64))
        host = f"{self.server.host}:{self.server.port}"
        requests = []
        for start in range(0, len(signed), MAX_BATCH):
            chunk = signed[start : start + MAX_BATCH]
            statement = chunk[0].envelope.statement
            body = b'{"statements":[' + b",".join(_body(s) for s in chunk) + b"]}"
            token = self.server.tokens[statement.actor]
            requests.append(
                (statement.key, encode_request(host, "/v1/statements/batch", token, body))
            )
        return requests, len(signed)


@contextmanager
def stack_server(receipt: bytes) -> Iterator[Server]:
    """:mod:`bench.api_stack` on a free loopback port, answering with ``receipt``."""
    port = free_port()
    answer = BENCH_DIR / "api-stack-receipt.json"
    answer.write_bytes(receipt)
    log = BENCH_DIR / "api-stack-server.log"
    command = [sys.executable, "-m", "bench.api_stack", "127.0.0.1", str(port), str(answer)]
    with running(command, port, log, {}) as server:
        yield server


def _timed(
    server: Server,
    load: LoadGenerator,
    mode: str,
    requests: list[Request],
    concurrency: int,
    rate: float = 0.0,
) -> dict[str, Any]:
    """One job of the load generator, with the CPU the server used meanwhile."""
    cpu_before = _tree_cpu(server.process.pid)
    outcome = load.run(mode, requests, concurrency, rate)
    outcome["server_cpu"] = _tree_cpu(server.process.pid) - cpu_before
    return dict(outcome)


def _check_stack(outcome: dict[str, Any]) -> None:
    wrong = [status for status, _, _ in _answers(outcome) if status != 201]
    if wrong:
        raise RuntimeError(f"the bare HTTP stack answered {len(wrong)} requests with {wrong[0]}")


def _body(submission: Submission) -> bytes:
    item = {
        "envelope": submission.envelope.to_json(),
        "disclosures": [d.to_json() for d in submission.disclosures],
    }
    return json.dumps(item, separators=(",", ":")).encode()


def _spread(wave: list[Submission]) -> list[int]:
    """The order to send a wave in: each key's statements spread evenly over the whole wave.

    A key's statements must go one after the other (counters), and the exporters sign 1/25 of a
    wave each; sent in wave order they would pile up at the end with nothing in parallel.
    """
    by_key: dict[str, list[int]] = {}
    for index, submission in enumerate(wave):
        by_key.setdefault(submission.envelope.statement.key, []).append(index)
    placed = [
        ((rank + 0.5) / len(indexes), index)
        for indexes in by_key.values()
        for rank, index in enumerate(indexes)
    ]
    return [index for _, index in sorted(placed)]


def _answers(outcome: dict[str, Any]) -> list[Answer]:
    answers: list[Answer | None] = outcome["answers"]
    if any(answer is None for answer in answers):
        raise RuntimeError("the load generator lost a request")
    return [answer for answer in answers if answer is not None]


def _single_result(status: int, body: bytes) -> Result:
    """A receipt: 201, or 200 when a retried request had been committed the first time."""
    if status not in (200, 201):
        raise RuntimeError(f"the API refused a benchmark statement ({status}): {body[:300]!r}")
    receipt = json.loads(body)
    return Result(ACCEPTED, receipt["seq"], bytes.fromhex(receipt["leaf_hash"]))


def _check_batch(status: int, body: bytes) -> None:
    if status != 200:
        raise RuntimeError(f"the API refused a benchmark batch ({status}): {body[:300]!r}")
    # duplicate: a batch sent again after a 503 that had been committed the first time
    refused = [r for r in json.loads(body)["results"] if r["status"] not in (ACCEPTED, DUPLICATE)]
    if refused:
        raise RuntimeError(f"the API refused {len(refused)} statements of a batch: {refused[0]}")


def _percentiles(latencies: list[float]) -> dict[str, float]:
    ordered = sorted(latencies)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    return {
        "p50_ms": at(0.50),
        "p90_ms": at(0.90),
        "p99_ms": at(0.99),
        "max_ms": ordered[-1] * 1000,
    }


def _detail(server: Server, outcome: dict[str, Any], statements: int) -> dict[str, Any]:
    """What a run cost: the load generator's CPU and the server's, per statement."""
    elapsed = outcome["elapsed"]
    server_cpu = outcome.get("server_cpu")
    return {
        "statements": statements,
        "seconds": round(elapsed, 3),
        "loadgen_cpu_share": round(outcome["cpu"] / elapsed, 3),
        "loadgen_cpu_us_per_statement": round(1e6 * outcome["cpu"] / statements, 1),
        "server_cpu_us_per_statement": (
            None if server_cpu is None else round(1e6 * server_cpu / statements, 1)
        ),
        "connections_opened": outcome["opened"],
        "retried_503": outcome["retried"],
        "load": os.getloadavg()[0],
    }


def _print_detail(name: str, details: list[dict[str, Any]]) -> None:
    share = median([d["loadgen_cpu_share"] for d in details])
    client = median([d["loadgen_cpu_us_per_statement"] for d in details])
    server_costs = [d["server_cpu_us_per_statement"] for d in details]
    known = [c for c in server_costs if c is not None]
    server = f"; server {median(known):,.0f} us CPU/statement" if known else ""
    print(
        f"   {name}: load generator {share:.0%} of a core, {client:.0f} us CPU/statement{server}",
        flush=True,
    )


def _tree_cpu(pid: int) -> float:
    """CPU seconds (user + system) used so far by ``pid`` and all its descendants.

    A process's children are listed per thread (``/proc/PID/task/TID/children``), and the
    verification workers and their forkserver are started from gunicorn's request threads, not
    from a worker's main thread: every thread's list is read, or their CPU would be missed.
    Children that have exited and been reaped count through their parent's ``cutime`` and
    ``cstime``, so the total never goes down when a worker is replaced.
    """
    total, todo, seen = 0.0, [pid], set()
    tick = os.sysconf("SC_CLK_TCK")
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        try:
            stat = Path(f"/proc/{current}/stat").read_text()
            children = _children(current)
        except OSError:
            continue  # gone in the meantime: its parent's cutime and cstime hold it once reaped
        fields = stat.rsplit(")", 1)[1].split()
        total += sum(int(value) for value in fields[11:15]) / tick  # utime stime cutime cstime
        todo += children
    return total


def _children(pid: int) -> list[int]:
    """The live children of every thread of ``pid``."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            found += [int(child) for child in (task / "children").read_text().split()]
        except OSError:
            continue  # that thread ended while we read
    return found


__all__ = ["run"]
