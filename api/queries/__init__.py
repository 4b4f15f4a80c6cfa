"""Read queries of the API: small functions that take a connection and return plain values.

Views parse their arguments, call one of these and serialise the result. Nothing here writes:
writes go through :class:`ledger.custody.log.Ledger`. Public queries select only public columns.
"""
