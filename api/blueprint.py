"""flask-smorest, adapted to the ledger: strict JSON, 400 for bad input, one error shape.

- Request bodies are parsed by the core's strict JSON parser (:func:`ledger.canonical.parse`: no
  duplicate keys, no NaN, no floats, UTF-8 only), because the statements inside them are signed
  and must mean exactly one thing. A body that is not JSON is refused with 415.
- Arguments that fail their schema are a 400 (webargs says 422), with the per-field messages in
  ``errors``; unknown query parameters are refused too, so a misspelt filter is an error rather
  than a silently unfiltered list.
- The documented error schema is :class:`api.schemas.common.ErrorSchema`, and HTTP errors
  (404, 405, 413 ...) are rendered by :mod:`api.errors` in that shape.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from http import HTTPStatus
from typing import Any, ClassVar

import flask
import flask_smorest
from webargs import core
from webargs.flaskparser import FlaskParser, is_json_request
from werkzeug.exceptions import HTTPException, UnsupportedMediaType

from api import errors
from api.schemas.common import ErrorSchema
from ledger import canonical
from ledger.errors import ValidationError


class StrictParser(FlaskParser):
    """webargs' Flask parser with the ledger's JSON parser and 400 for invalid arguments."""

    DEFAULT_VALIDATION_STATUS = 400
    # None: the schema decides, and our schemas raise on unknown fields.
    DEFAULT_UNKNOWN_BY_LOCATION: ClassVar[dict[str, str | None]] = {
        **FlaskParser.DEFAULT_UNKNOWN_BY_LOCATION,
        "query": None,
        "querystring": None,
    }

    def _raw_load_json(self, req: flask.Request) -> Any:
        data = req.get_data(cache=True)  # 413 here when over MAX_CONTENT_LENGTH
        if not data:
            return core.missing
        if not is_json_request(req):
            raise UnsupportedMediaType("send the request body as application/json.")
        try:
            return canonical.parse(data)
        except ValidationError as exc:
            raise ValidationError(
                f"the request body is not JSON the ledger accepts: {exc.message}",
                code="malformed_json",
            ) from exc


class Blueprint(flask_smorest.Blueprint):
    ARGUMENTS_PARSER = StrictParser()

    def errors(self, *statuses: int) -> Callable[[Any], Any]:
        """Document the error statuses a route can answer (all in the one error shape).

        Each status is documented as by :meth:`alt_response`, whose wrapper only passes the
        call on; the route gets one such layer for all of them rather than one per status.
        """

        def decorate(func: Any) -> Any:
            documented = func
            for status in statuses:
                documented = self.alt_response(status, response=HTTPStatus(status).name)(documented)

            @wraps(func)
            def wrapper(*args: Any, **kwargs: Any) -> Any:
                return func(*args, **kwargs)

            wrapper._apidoc = documented._apidoc  # type: ignore[attr-defined]
            return wrapper

        return decorate


class Api(flask_smorest.Api):
    ERROR_SCHEMA = ErrorSchema

    def handle_http_exception(self, error: HTTPException) -> Any:
        return errors.http_error(error)
