"""``python -m bench``: see :mod:`bench.runner`; runs from a frozen copy (:mod:`bench.snapshot`)."""

from bench.snapshot import run_frozen

run_frozen()  # returns only inside the snapshot; imports of the ledger come after it

from bench.runner import main  # noqa: E402

if __name__ == "__main__":
    raise SystemExit(main())
