"""The API's documented limits, in one place (they also appear in the OpenAPI description).

A request over a limit is refused whole, with nothing written: 413 for a body or a batch that
is too large, 400 for a page size out of range. ``to``/``from`` ranges of entries are cut to
one page and continue with ``next``.
"""

from __future__ import annotations

MAX_BATCH = 100  # statements per POST /v1/statements/batch (the Ledger takes up to 1000)
# Bytes of a request body. A full batch fits: 100 statements of at most 16 KiB each, with their
# disclosures.
MAX_BODY_BYTES = 4 * 1024 * 1024
MAX_ENTRIES_PAGE = 100  # entries per page of GET /v1/entries
DEFAULT_LIMIT = 50  # items per page of the other lists, unless ?limit= says otherwise
MAX_LIMIT = 200  # the most items one page of a list holds
# The largest sequence number or tree size a request may name: the JSON safe-integer limit,
# far beyond any log, and inside every engine's integer range (larger ones are a 400 or 404).
MAX_SEQ = 2**53 - 1
