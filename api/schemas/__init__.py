"""Marshmallow schemas of the API, one module per domain.

- :mod:`api.schemas.common`: the error shape, cursor paging arguments and pages;
- :mod:`api.schemas.log`: submissions and receipts, entries, checkpoints, proofs;
- :mod:`api.schemas.registry`: actors and their keys, sites, miners;
- :mod:`api.schemas.custody`: lots and their history, attestations, flags.

Request schemas check the outer shape only: what a valid statement is, the core decides
(:meth:`ledger.statements.Envelope.from_json`). Response schemas are public views: a public
schema simply has no private field (no price, invoice, contact or personal data), so nothing
private can be serialised by mistake; private views, when they come, are separate schemas.
"""
