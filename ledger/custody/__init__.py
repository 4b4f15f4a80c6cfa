"""Custody: lots, the append-only log and sequencer, proofs, mass balance, attestations, flags."""
