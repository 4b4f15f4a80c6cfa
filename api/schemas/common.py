"""Shared schemas: the error shape, cursor paging arguments, and pages of results."""

from __future__ import annotations

import re
from typing import Any

from marshmallow import Schema, fields, validate
from marshmallow import ValidationError as MarshmallowValidationError

from api.limits import DEFAULT_LIMIT, MAX_LIMIT
from ledger import canonical
from ledger.statements import ID_RE, SUBJECT_RE


class ErrorSchema(Schema):
    """Every error response, whatever the status (see :mod:`api.errors`)."""

    code = fields.String(
        required=True, metadata={"description": "Stable machine code, e.g. stale_after."}
    )
    status = fields.Integer(required=True, metadata={"description": "The HTTP status."})
    message = fields.String(required=True, metadata={"description": "What went wrong."})
    errors = fields.Dict(
        required=True,
        metadata={"description": "Per-field messages: {location: {field: [message]}}."},
    )


class PageArgsSchema(Schema):
    """Cursor paging: pass the ``next_cursor`` of one page to get the next."""

    cursor = fields.String(
        load_default=None, metadata={"description": "Opaque cursor from a previous page."}
    )
    limit = fields.Integer(
        load_default=DEFAULT_LIMIT,
        validate=validate.Range(min=1, max=MAX_LIMIT),
        metadata={"description": f"Items per page, at most {MAX_LIMIT}."},
    )


def page_schema(item: type[Schema]) -> type[Schema]:
    """The schema of a page of ``item``: ``{"items": [...], "next_cursor": str | null}``."""
    name = item.__name__.removesuffix("Schema") + "PageSchema"
    return Schema.from_dict(
        {
            "items": fields.List(fields.Nested(item), required=True),
            "next_cursor": fields.String(
                required=True,
                allow_none=True,
                metadata={"description": "Cursor of the next page; null on the last page."},
            ),
        },
        name=name,
    )


class Hex(fields.String):
    """Bytes, dumped as lowercase hex (hashes: 64 characters)."""

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        return None if value is None else bytes(value).hex()


class Base64(fields.String):
    """Bytes, dumped as standard base64 with padding."""

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        return None if value is None else canonical.b64encode(bytes(value))


def hash_field(description: str, **kwargs: Any) -> Hex:
    """A 32-byte hash as 64 lowercase hex characters."""
    return Hex(metadata={"description": description, "pattern": "^[0-9a-f]{64}$"}, **kwargs)


class FullMatch(validate.Regexp):
    """A pattern that must match the whole value, published in a form JSON Schema accepts.

    The core's patterns end in ``\\Z`` (Python's ``$`` also matches before a trailing newline),
    but ``\\Z`` is not an ECMA-262 regex, so an OpenAPI document carrying it is invalid. Here the
    published pattern ends in ``$`` and the value is checked with ``fullmatch``, which admits no
    trailing newline either.
    """

    def __init__(self, pattern: str | re.Pattern[str], *, error: str) -> None:
        text = pattern.pattern if isinstance(pattern, re.Pattern) else pattern
        super().__init__(text.replace("\\Z", "$"), error=error)

    def __call__(self, value: Any) -> Any:
        if not isinstance(value, str) or self.regex.fullmatch(value) is None:
            raise MarshmallowValidationError(self._format_error(value))
        return value


def ident_field(**kwargs: Any) -> fields.String:
    """An identifier filter (1-64 characters from A-Z a-z 0-9 . _ : -)."""
    return fields.String(validate=FullMatch(ID_RE, error="not an identifier."), **kwargs)


def subject_field(**kwargs: Any) -> fields.String:
    """A subject filter such as ``lot:LOT-1``."""
    return fields.String(validate=FullMatch(SUBJECT_RE, error="not a subject."), **kwargs)


def code_field(**kwargs: Any) -> fields.String:
    """A machine-code filter (lowercase letters and underscores)."""
    return fields.String(validate=FullMatch(r"^[a-z_]{1,40}$", error="not a code."), **kwargs)


def country_field(**kwargs: Any) -> fields.String:
    return fields.String(
        validate=FullMatch(r"^[A-Z]{2}$", error="not an ISO 3166-1 alpha-2 code."),
        metadata={"description": "ISO 3166-1 alpha-2 code."},
        **kwargs,
    )
