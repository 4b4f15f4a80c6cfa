"""Keyset (cursor) pagination over a stable order.

A list is ordered by columns that identify a row (e.g. ``(created_seq, id)``), and a page
continues after the key of the previous page's last row. The cursor is that key as JSON in
unpadded URL-safe base64: opaque to clients, checked strictly when it comes back (its values
must have the types of the order columns), so a forged cursor is a 400, never a database error.
Rows inserted while a client pages are not skipped nor repeated before its position.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Column, Connection, Row, Select, tuple_

from ledger.errors import ValidationError

_MAX_INT = 2**53 - 1
_MAX_STR = 200


@dataclass(frozen=True)
class Page:
    items: list[Any]
    next_cursor: str | None


def as_dict(row: Row[Any]) -> dict[str, Any]:
    return dict(row._mapping)


def encode_cursor(values: Sequence[int | str]) -> str:
    raw = json.dumps(list(values), separators=(",", ":")).encode("utf-8")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def decode_cursor(cursor: str, order: Sequence[Column[Any]]) -> list[int | str]:
    """The key in ``cursor``; :class:`ValidationError` unless it fits the order columns."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = json.loads(raw.decode("utf-8"))
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise _bad_cursor() from exc
    if not isinstance(values, list) or len(values) != len(order):
        raise _bad_cursor()
    for value, column in zip(values, order, strict=True):
        if not _fits(value, column.type.python_type):
            raise _bad_cursor()
    return values


def _fits(value: Any, kind: type) -> bool:
    if kind is int:
        return type(value) is int and 0 <= value <= _MAX_INT
    return type(value) is str and 0 < len(value) <= _MAX_STR and "\x00" not in value


def _bad_cursor() -> ValidationError:
    return ValidationError(
        "the cursor is not one this server handed out; start again without it.",
        code="bad_cursor",
        field="cursor",
        location="query",
    )


def keyset_page(
    conn: Connection,
    query: Select[Any],
    order: Sequence[Column[Any]],
    *,
    cursor: str | None,
    limit: int,
    convert: Callable[[Row[Any]], Any],
) -> Page:
    """One page of ``query`` in ``order``, after ``cursor``; ``convert`` maps a row to an item."""
    if cursor is not None:
        query = query.where(tuple_(*order) > tuple_(*decode_cursor(cursor, order)))
    rows = conn.execute(query.order_by(*order).limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = encode_cursor([rows[-1]._mapping[c] for c in order]) if more else None
    return Page([convert(row) for row in rows], next_cursor)
