"""The programme's indicators: ``GET /v1/indicators`` (JSON or CSV) and the page ``/indicators``.

Public, and computed by :mod:`ledger.custody.indicators` with cells of fewer than five people
suppressed. Counting miners by sex opens one disclosure per miner, so a process keeps the
figures it computed for ``LEDGER_INDICATORS_CACHE_SECONDS`` (default 60; 0: never) as long as
the log and the grievances have not changed; an erasure shows within that time.

The page is server-rendered HTML (``api/templates/indicators.html``) with inline CSS, no script
and no external asset, in English or French (:mod:`api.i18n`); it is a page, not an API, and is
not in the OpenAPI document.
"""

from __future__ import annotations

import csv
import io
import os
import threading
import time
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint as PageBlueprint
from flask import Response, current_app, render_template, request
from flask.blueprints import BlueprintSetupState
from sqlalchemy import Connection, func, select

from api import i18n, state
from api.blueprint import Blueprint
from api.schemas.indicators import IndicatorArgsSchema, IndicatorsSchema
from ledger.custody import grievances, indicators

CACHE_SETTING = "LEDGER_INDICATORS_CACHE_SECONDS"
DEFAULT_CACHE_SECONDS = 60.0
_CACHE = "asm-ledger.indicators"
_CSV, _JSON = "text/csv", "application/json"

blp = Blueprint(
    "indicators",
    __name__,
    url_prefix="/v1",
    description="The programme's monitoring indicators; cells of fewer than five people are "
    "suppressed.",
)
pages = PageBlueprint("indicator_pages", __name__, template_folder="../templates")


@blp.record_once
def _add_page(setup: BlueprintSetupState) -> None:
    setup.app.register_blueprint(pages)  # HTML, outside the OpenAPI document


class _Cache:
    """The last figures of this process, with the state they were computed on."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.key: tuple[Any, ...] | None = None
        self.at = 0.0
        self.figures: dict[str, Any] = {}


def figures() -> dict[str, Any]:
    """The indicators on today's date (UTC), from this process's cache when still current."""
    conn = state.connection()
    seconds = float(
        current_app.config.get(CACHE_SETTING)
        or os.environ.get(CACHE_SETTING)
        or DEFAULT_CACHE_SECONDS
    )
    cache: _Cache = current_app.extensions.setdefault(_CACHE, _Cache())
    key = _state_key(conn)
    with cache.lock:
        if seconds > 0 and cache.key == key and time.monotonic() - cache.at < seconds:
            return cache.figures
    found = indicators.compute(conn, state.ledger().sealer, datetime.now(UTC).date())
    with cache.lock:
        cache.key, cache.at, cache.figures = key, time.monotonic(), found
    return found


def _state_key(conn: Connection) -> tuple[Any, ...]:
    size = conn.execute(select(indicators.HEAD.c.size)).scalar()
    table = grievances.GRIEVANCES
    counted = conn.execute(
        select(func.count(), func.count(table.c.converted_seq)).select_from(table)
    ).one()
    return datetime.now(UTC).date(), size, tuple(counted)


@blp.route("/indicators", methods=["GET"])
@blp.arguments(IndicatorArgsSchema, location="query")
@blp.response(200, IndicatorsSchema)
@blp.doc(responses={200: {"content": {_CSV: {"schema": {"type": "string"}}}}})
@blp.errors(400)
def get_indicators(args: dict[str, Any]) -> Any:
    """The monitoring indicators, as JSON, or as CSV (`?format=csv` or `Accept: text/csv`).

    CSV has the columns `indicator,group,key,value`, one row per cell; a suppressed cell's
    value is `x` (null in JSON, and named in `suppressed`). A cell counting one to four people
    is suppressed, and so are enough others that it cannot be recovered from the total.
    """
    found = figures()
    if _wants_csv(args.get("format")):
        return _csv(found)
    return found


def _wants_csv(asked: str | None) -> bool:
    if asked is not None:
        return asked == "csv"
    return request.accept_mimetypes.best_match([_JSON, _CSV], default=_JSON) == _CSV


def _csv(found: dict[str, Any]) -> Response:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(indicators.CSV_HEADER)
    writer.writerows(indicators.rows(found))
    response = Response(out.getvalue(), mimetype=_CSV)
    response.headers["Content-Disposition"] = 'inline; filename="indicators.csv"'
    response.headers["Vary"] = "Accept"
    return response


@pages.app_template_filter("kg")
def kilograms(grams: int) -> str:
    return f"{grams / 1000:,.1f}"


@pages.route("/indicators", methods=["GET"])
def page() -> Any:
    lang = i18n.choose(request)
    html = render_template(
        "indicators.html",
        lang=lang,
        other_lang="fr" if lang == "en" else "en",
        t=i18n.translator(lang),
        f=figures(),
        marker=indicators.MARKER,
        threshold=indicators.THRESHOLD,
    )
    response = Response(html, mimetype="text/html")
    response.headers["Content-Language"] = lang
    response.headers["Vary"] = "Accept-Language"
    return response


BLUEPRINTS = (blp,)
