"""Canonical JSON (RFC 8785, JCS) for everything that is hashed or signed.

The ledger's data model is a strict subset of JSON: objects with ASCII string keys, arrays,
strings, booleans, null, and integers within +/-(2**53 - 1). No floats: masses are integer grams,
grades integer parts per million, times RFC 3339 strings. :func:`check_value` enforces that subset,
so that every signed value has exactly one byte representation in every language.

:func:`dumps` is the encoder of record and delegates to the ``rfc8785`` package. :func:`loads`
parses bytes and insists that they are already canonical, which is how the ledger accepts bytes it
did not produce (entries read back from storage, statements inside a bundle).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any

import rfc8785

from ledger.errors import ValidationError

MAX_SAFE_INTEGER = 2**53 - 1
MAX_DEPTH = 16
_KEY_RE = re.compile(r"^[\x20-\x7e]{1,64}\Z")  # \Z: "$" would admit a trailing newline

JSONValue = Any  # a value of the restricted data model; checked at run time by check_value


def check_value(value: JSONValue, path: str = "$", depth: int = 0) -> None:
    """Raise :class:`ValidationError` unless ``value`` is in the ledger's JSON subset.

    The common case (valid input) is checked by a fast walk that builds no paths; only when it
    finds a problem does the slower walk run again to name where.
    """
    if depth == 0 and _valid(value, 0):
        return
    _check_value(value, path, depth)


def _valid(value: JSONValue, depth: int) -> bool:
    kind = type(value)
    if kind is str:
        return value.isascii() or _encodable(value)
    if kind is int:
        return bool(-MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER)
    if value is None or kind is bool:
        return True
    if depth >= MAX_DEPTH:
        return False
    if kind is dict:
        return all(
            type(k) is str and _KEY_RE.match(k) is not None and _valid(v, depth + 1)
            for k, v in value.items()
        )
    if kind is list:
        return all(_valid(item, depth + 1) for item in value)
    return False


def _encodable(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _check_value(value: JSONValue, path: str, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise ValidationError(f"{path} is nested deeper than {MAX_DEPTH} levels.", field=path)
    if value is None or isinstance(value, bool | str):
        if isinstance(value, str):
            _check_string(value, path)
        return
    if isinstance(value, int):
        if not -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
            raise ValidationError(
                f"{path} is outside the safe integer range +/-(2**53-1).", field=path
            )
        return
    if isinstance(value, float):
        raise ValidationError(
            f"{path} is a floating-point number; use integers (grams, ppm, micro-degrees).",
            field=path,
        )
    if isinstance(value, list):
        for i, item in enumerate(value):
            _check_value(item, f"{path}[{i}]", depth + 1)
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str) or not _KEY_RE.match(key):
                raise ValidationError(
                    f"{path} has a key that is not 1-64 printable ASCII characters.", field=path
                )
            _check_value(item, f"{path}.{key}", depth + 1)
        return
    raise ValidationError(f"{path} has a type JSON cannot represent.", field=path)


def _check_string(value: str, path: str) -> None:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValidationError(f"{path} contains a lone surrogate.", field=path) from exc


def dumps(value: JSONValue) -> bytes:
    """Return the RFC 8785 canonical bytes of ``value`` (checked against the data model first)."""
    check_value(value)
    try:
        return bytes(rfc8785.dumps(value))
    except (rfc8785.CanonicalizationError, TypeError, ValueError) as exc:
        raise ValidationError(f"value cannot be canonicalised: {exc}") from exc


def dumps_received(value: JSONValue) -> bytes:
    """The canonical bytes of a value received to be *verified*, not signed: checked against the
    data model, then encoded by the stdlib encoder (:func:`dumps_fast`).

    On values that pass :func:`check_value` the two encoders agree byte for byte (property-tested
    in ``tests/unit/test_canonical.py``), and the stdlib one costs a tenth of ``rfc8785``'s pure
    Python. The bytes are what a signature is then checked over, so even a disagreement could only
    make a genuine signature fail, never let another statement pass under them. What the ledger
    itself signs or hashes is still produced by :func:`dumps`.
    """
    check_value(value)
    return dumps_fast(value)


def loads(data: bytes) -> JSONValue:
    """Parse canonical bytes; raise :class:`ValidationError` unless they are exactly canonical."""
    value = parse(data)
    if dumps(value) != data:
        raise ValidationError("bytes are valid JSON but not in RFC 8785 canonical form.")
    return value


def parse(data: bytes | str) -> JSONValue:
    """Parse JSON strictly: no NaN/Infinity, no duplicate keys, only the ledger's data model.

    Every value this returns has passed :func:`check_value`. The common case (valid input) is
    parsed once by :func:`_parse_plain`, which checks the data model as it goes at a fraction
    of the cost of a walk; any input it is not sure of is parsed again by
    :func:`_parse_strictly`, which raises the error that names the problem and where.
    """
    if isinstance(data, bytes | bytearray):
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ValidationError("input is not valid UTF-8.") from exc
        surrogates = "\\u" in text  # decoded UTF-8 holds none; an escape may make one
    else:
        text = data
        surrogates = "\\u" in text or not (text.isascii() or _encodable(text))
    try:
        return _parse_plain(text, surrogates)
    except Exception:  # whatever it was, the strict parser says what, and where
        return _parse_strictly(text)


def _parse_strictly(text: str) -> JSONValue:
    try:
        value = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise ValidationError(
            f"input is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}."
        ) from exc
    except RecursionError as exc:  # the stdlib parser recurses once per nesting level
        raise ValidationError(f"input is nested deeper than {MAX_DEPTH} levels.") from exc
    except ValueError as exc:  # an integer of more than sys.get_int_max_str_digits() digits
        raise ValidationError(
            "input holds an integer outside the safe integer range +/-(2**53-1)."
        ) from exc
    check_value(value)
    return value


def _parse_plain(text: str, surrogates: bool) -> JSONValue:
    """The value of ``text`` if it is plainly in the data model; raises anything otherwise.

    Checked while parsing: duplicate keys and object keys (:func:`_plain_object`), floats and
    NaN (refused by the parser's hooks). Checked after: integers and depth, by a walk of the
    containers only (:func:`_plain_ints`); strings only when ``surrogates`` says that one may
    hold a lone surrogate.
    """
    value = _PLAIN.decode(text)
    if surrogates:
        check_value(value)
    elif type(value) is dict or type(value) is list:
        if not _plain_ints(value, 0):
            raise _Unsure
    elif type(value) is int and not -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
        raise _Unsure
    return value


class _Unsure(Exception):
    """Raised by the plain parser for input it leaves to the strict one."""


def _unsure(_text: str) -> None:
    raise _Unsure


def _plain_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """An object, unless a key repeats or is not one the data model allows."""
    result = dict(pairs)
    if len(result) != len(pairs):
        raise _Unsure
    if not result.keys() <= _KEYS_SEEN:
        for key in result:
            if key not in _KEYS_SEEN:
                if not _KEY_RE.match(key):
                    raise _Unsure
                if len(_KEYS_SEEN) < _MAX_KEYS_SEEN:
                    _KEYS_SEEN.add(key)
    return result


def _plain_ints(value: JSONValue, depth: int) -> bool:
    """True when every integer inside ``value`` (an object or array as the parser made it) is
    safe and nothing nests too deep."""
    if depth >= MAX_DEPTH:
        return False
    for item in value.values() if type(value) is dict else value:
        kind = type(item)
        if kind is int:
            if not -MAX_SAFE_INTEGER <= item <= MAX_SAFE_INTEGER:
                return False
        elif (kind is dict or kind is list) and not _plain_ints(item, depth + 1):
            return False
    return True


# Object keys already found in the data model (they repeat from one request to the next), so
# that an object whose keys are all known is checked by one set comparison. Bounded: past the
# bound, new keys are checked one by one each time.
_KEYS_SEEN: set[str] = set()
_MAX_KEYS_SEEN = 4096
_PLAIN = json.JSONDecoder(
    object_pairs_hook=_plain_object, parse_float=_unsure, parse_constant=_unsure
)


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValidationError(f"duplicate key {key!r} in JSON object.", field=key)
        result[key] = value
    return result


def _reject_constant(name: str) -> None:
    raise ValidationError(f"{name} is not a JSON number.")


def b64encode(data: bytes) -> str:
    """Standard base64 with padding (RFC 4648 section 4), as used by signed notes."""
    return base64.b64encode(data).decode("ascii")


def b64decode(text: str, *, field: str = "value", size: int | None = None) -> bytes:
    """Strict standard base64: canonical padding, no whitespace, optional exact decoded size."""
    if not isinstance(text, str):
        raise ValidationError(f"{field} must be a base64 string.", field=field)
    try:
        data = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise ValidationError(f"{field} is not valid base64.", field=field) from exc
    if base64.b64encode(data).decode("ascii") != text:
        raise ValidationError(f"{field} is not canonical base64.", field=field)
    if size is not None and len(data) != size:
        raise ValidationError(f"{field} must decode to {size} bytes, not {len(data)}.", field=field)
    return data


_HEX32_RE = re.compile(r"^[0-9a-f]{64}\Z")


def hex32(text: Any, *, field: str = "hash") -> bytes:
    """Decode a lowercase-hex 32-byte hash, strictly."""
    if not isinstance(text, str) or not _HEX32_RE.match(text):
        raise ValidationError(f"{field} must be 64 lowercase hex characters.", field=field)
    return bytes.fromhex(text)


def dumps_fast(value: JSONValue) -> bytes:
    """The stdlib encoder, equal to :func:`dumps` on values that pass :func:`check_value`.

    On the ledger's data model the two agree byte for byte: keys are ASCII, so code-point order
    is UTF-16 order; numbers are safe integers, formatted identically; and ``json`` escapes exactly
    the characters RFC 8785 escapes (quote, backslash, control characters, short forms for
    \\b \\t \\n \\f \\r, lowercase ``\\u00xx`` otherwise). ``tests/unit/test_canonical.py`` checks
    the equality by property test. It is used only to *check* bytes on the audit's hot path, where
    rfc8785 would cost a third of the time of the signature verification itself; everything the
    ledger signs or hashes is produced by :func:`dumps`.
    """
    return _FAST_ENCODER.encode(value).encode("utf-8")


_FAST_ENCODER = json.JSONEncoder(
    ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False
)  # one encoder for every call: building one per call was a fifth of the cost
