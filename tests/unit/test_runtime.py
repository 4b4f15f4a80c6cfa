"""The entry points' garbage-collector settings: applied once per process, and only there."""

from __future__ import annotations

import subprocess
import sys

from ledger.runtime import GEN0_THRESHOLD


def _run(code: str) -> list[str]:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return done.stdout.split()


def test_tune_gc_raises_the_threshold_and_freezes_once() -> None:
    before, after, frozen, again = _run(
        "import gc; from ledger import runtime; "
        "before = gc.get_threshold()[0]; runtime.tune_gc(); frozen = gc.get_freeze_count(); "
        "runtime.tune_gc(); "
        "print(before, gc.get_threshold()[0], frozen, gc.get_freeze_count())"
    )
    assert int(before) != GEN0_THRESHOLD
    assert int(after) == GEN0_THRESHOLD
    assert int(frozen) > 0
    assert again == frozen  # the second call froze nothing more


def test_importing_the_library_changes_nothing() -> None:
    before, after = _run(
        "import gc; before = gc.get_threshold()[0]; import ledger.custody.log, api, ledger.cli; "
        "print(before, gc.get_threshold()[0])"
    )
    assert before == after
