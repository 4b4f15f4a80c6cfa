"""Benchmarks of the ledger (not tests): ``python -m bench [NAME ...] [--quick]``.

Each benchmark prints one line per figure: its median, the raw limit measured in the same run
(single-core Ed25519 verification, durable commits, or the same operation on a smaller ledger),
the ratio of the two, and the target with PASS or FAIL. These machines are shared and noisy, so
figures are medians of repeated samples and targets are held against same-run ratios. Every run
is also appended, as a JSON record, to ``var/bench/results.json``. See ``BENCHMARKS.md``.
"""
