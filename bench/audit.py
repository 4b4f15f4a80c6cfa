"""Figure 4: ``ledger audit`` over the medium (100k) and large (1M) cached ledgers.

Each audit runs in its own subprocess (:mod:`bench.audit_child`) with two verification workers,
as ``ledger audit`` does by default. While it runs, this process samples the resident set of the
audit's whole process tree (the audit, the forkserver and the workers) every 100 ms from
``/proc``; the peak of that sum is the memory figure (shared pages are counted once per process,
so it errs high). The raw single-core verification rate is measured just before and just after
each audit, while the audit is not running.

Targets: entries/s >= 1.6 x raw single-core verification; peak memory at 1M <= 1.2 x at 100k.

A third figure, ``audit.cpu-ceiling``, reports where the CPU goes (the audit process's own
microseconds per entry, and its signature workers') and the rate 2 cores could reach at best with
that much work per entry, beside the same raw rate: the 1.6 x target needs the whole audit to
cost no more than 1.25 verifications of CPU per entry.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.context import Context
from bench.ledgers import BENCH_DIR, CODE, sqlite_url
from bench.measure import Figure, median, ratio_figure, size_name

RATE_TARGET = 1.6
MEMORY_TARGET = 1.2
PAGE = os.sysconf("SC_PAGE_SIZE")


def run(ctx: Context) -> list[Figure]:
    sizes = {"medium": ctx.scale.medium, "large": ctx.scale.large}
    paths = ctx.ledgers
    figures, peaks = [], {}
    for (label, size), runs in zip(sizes.items(), ctx.scale.audit_runs, strict=True):
        rate, peak, cpu = _audit_figures(ctx, size, paths[size], runs)
        figures += [rate, cpu]
        peaks[label] = peak
    medium, large = peaks["medium"], peaks["large"]
    figures.append(medium)
    figures.append(
        Figure(
            large.name,
            large.value,
            large.unit,
            raw=medium.value,
            raw_unit=f"MiB at {ctx.scale.medium:,}",
            ratio=large.value / medium.value,
            target=f"<= {MEMORY_TARGET:g} x {ctx.scale.medium:,}",
            passed=large.value <= MEMORY_TARGET * medium.value,
            samples=large.samples,
            extra=large.extra,
        )
    )
    return figures


def _audit_figures(ctx: Context, size: int, path: Path, runs: int) -> tuple[Figure, Figure, Figure]:
    rates, raws, peaks, details = [], [], [], []
    for _ in range(runs):
        before = ctx.raw.median_rate(windows=3)
        result = _audit_once(path)
        after = ctx.raw.median_rate(windows=3)
        rates.append(result["size"] / result["seconds"])
        raws.append(median([before, after]))
        peaks.append(result["peak_tree_rss_kib"] / 1024)
        details.append(_summary(result))
    cpu = _cpu_figure(size, details, raws)
    rate = ratio_figure(
        f"audit.rate.{size_name(size)}",
        rates,
        raws,
        unit="entries/s",
        raw_unit="verify/s",
        minimum=RATE_TARGET,
        extra={"runs": details},
    )
    peak = Figure(
        f"audit.peak-rss.{size_name(size)}",
        median(peaks),
        "MiB",
        samples=runs,
        extra={"runs": details},
    )
    return rate, peak, cpu


def _cpu_figure(size: int, details: list[dict[str, Any]], raws: list[float]) -> Figure:
    """Where the audit's CPU goes, and the fastest a 2-core machine could then run it.

    If the audit's processes overlapped perfectly and nothing else ran, 2 cores would audit at
    most ``2 / (CPU seconds per entry)`` entries a second: that ceiling, beside the same run's
    raw single-core verification rate, shows how far the 1.6 x target is reachable at all.
    """
    per_entry = [d["cpu_main_us_per_entry"] + d["cpu_workers_us_per_entry"] for d in details]
    ceilings = [2 / (us / 1e6) for us in per_entry]
    return ratio_figure(
        f"audit.cpu-ceiling.{size_name(size)}",
        ceilings,
        raws,
        unit="entries/s",
        raw_unit="verify/s",
        extra={
            "main_us_per_entry": median([d["cpu_main_us_per_entry"] for d in details]),
            "workers_us_per_entry": median([d["cpu_workers_us_per_entry"] for d in details]),
            "raw_verify_us": median([1e6 / r for r in raws]),
        },
    )


def _summary(result: dict[str, Any]) -> dict[str, Any]:
    """The run's record without its per-window rates (their median stands for them)."""
    summary = {k: v for k, v in result.items() if k != "window_rates"}
    windows = result["window_rates"]
    summary["median_window_rate"] = median(windows) if windows else None
    return summary


def _audit_once(path: Path) -> dict[str, Any]:
    scratch = BENCH_DIR / "scratch"
    scratch.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "bench.audit_child", sqlite_url(path), str(scratch)]
    child = subprocess.Popen(command, cwd=CODE, stdout=subprocess.PIPE, text=True)
    peak, cpu = _watch(child)
    output = child.stdout.read() if child.stdout else ""
    if child.returncode != 0:
        raise RuntimeError(f"the audit subprocess failed with exit code {child.returncode}")
    result: dict[str, Any] = json.loads(output)
    if not result["clean"]:
        raise RuntimeError(f"the benchmark ledger does not audit clean: {result['divergence']}")
    result["peak_tree_rss_kib"] = peak // 1024
    # CPU per entry: the audit process itself (reading, hashing, parsing, replaying the rules,
    # comparing) and the rest of its tree (the forkserver and the signature workers)
    main = cpu.get(child.pid, 0.0)
    result["cpu_main_us_per_entry"] = main / result["size"] * 1e6
    result["cpu_workers_us_per_entry"] = (sum(cpu.values()) - main) / result["size"] * 1e6
    return result


def _watch(child: subprocess.Popen[str]) -> tuple[int, dict[int, float]]:
    """Peak bytes resident in ``child`` and its descendants, sampled until it exits, and the
    CPU seconds each of those processes had used when last seen.

    The process tree is re-read from ``/proc`` once a second (the audit's workers start once);
    the resident sizes and CPU times every 100 ms. Sampling costs about 1% of a core.
    """
    peak, tree, ticks = 0, [child.pid], 0
    cpu: dict[int, float] = {}
    while child.poll() is None:
        if ticks % 10 == 0:
            tree = _descendants(child.pid)
        peak = max(peak, sum(_rss(pid) for pid in tree))
        for pid in tree:
            seconds = _cpu_seconds(pid)
            if seconds is not None:
                cpu[pid] = seconds
        ticks += 1
        time.sleep(0.1)
    return peak, cpu


_TICKS = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pid: int) -> float | None:
    """User plus system CPU time of ``pid`` (fields 14 and 15 of ``/proc/PID/stat``)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            fields = stat.read().rsplit(b")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / _TICKS
    except (OSError, IndexError, ValueError):
        return None


def _descendants(root: int) -> list[int]:
    """``root`` and every process below it."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            parent = _ppid(int(entry.name))
            if parent is not None:
                children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, ()))
    return found


def _ppid(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return int(stat.read().rsplit(b")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def _rss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm", "rb") as statm:
            return int(statm.read().split()[1]) * PAGE
    except (OSError, IndexError, ValueError):
        return 0
