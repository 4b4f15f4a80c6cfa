"""The public provenance page, ``GET /p/{lot}``: what a buyer sees on scanning a lot's QR code.

Server-rendered HTML (``api/templates/provenance.html``): inline CSS, no script, no external
asset, a few kilobytes, readable on a small phone. English or French (:mod:`api.i18n`). The
label's ``h`` (a prefix of the lot's head hash at printing time) is compared with the lot's
history so that a page showing another history is visible. "Verified" is shown only when the
buyer's verifier, run here on the bundle offered for download, passes. Not in the OpenAPI
document: it is a page, not an API.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, render_template, request, url_for

from api import errors, i18n, state
from api.views.provenance import account
from ledger.errors import LedgerError

blp = Blueprint("pages", __name__, template_folder="../templates")
_HEX_PREFIX = re.compile(r"[0-9a-f]{4,64}")


@blp.app_template_filter("mass")
def mass(grams: int) -> str:
    return f"{grams / 1000:,.1f} kg" if grams >= 1000 else f"{grams} g"


@blp.app_template_filter("grade")
def grade(ppm: int) -> str:
    return f"{ppm / 10_000:.2f}%"


@blp.app_template_filter("degrees")
def degrees(micro: int) -> str:
    return f"{micro / 1_000_000:.5f}"


def alert_params(alert: dict[str, Any], t: Callable[..., str]) -> dict[str, Any]:
    """The alert's details as the catalogue's placeholders; a site's status gets ``why``, the
    translated sentence of what the status rests on."""
    params = {k: v for k, v in alert.items() if k not in ("level", "kind")}
    if "reasons" in params:
        params["reasons"] = "; ".join(params["reasons"])
    if "reason" in params:
        params["why"] = t("basis." + params["reason"], **params)
    return params


def label_check(found: dict[str, Any], h: str | None) -> dict[str, Any] | None:
    """Where the label's head prefix sits in the lot's history, if the scan carried one."""
    if h is None:
        return None
    lot_id = found["lot"]["id"]
    chain = [e["seq"] for e in found["entries"] if e["leaf_hash"].hex().startswith(h)]
    touching = [s["seq"] for s in found["timeline"] if lot_id in s["lots"]]
    if found["lot"].get("head", "").startswith(h):
        return {"kind": "current", "count": 0}
    if chain and chain[0] in touching:
        return {"kind": "earlier", "count": sum(1 for s in touching if s > chain[0])}
    return {"kind": "mismatch", "count": 0}


@blp.route("/p/<lot_id>", methods=["GET"])
def page(lot_id: str) -> Any:
    lang = i18n.choose(request)
    h = request.args.get("h")
    h = h if h is not None and _HEX_PREFIX.fullmatch(h) else None
    try:
        _data, found = account(lot_id)
    except LedgerError as exc:
        return _error_page(exc, lang)
    html = render_template(
        "provenance.html",
        lang=lang,
        other_lang="fr" if lang == "en" else "en",
        t=i18n.translator(lang),
        account=found,
        lot=found["lot"],
        h=h,
        label=label_check(found, h),
        alert_params=alert_params,
        bundle_url=url_for("provenance.bundle", lot_id=lot_id),
        verifier_key=str(state.ledger().verifier_key()),
    )
    response = Response(html, mimetype="text/html")
    response.headers["Content-Language"] = lang
    response.headers["Vary"] = "Accept-Language"
    return response


def _error_page(exc: LedgerError, lang: str) -> Any:
    """The one error shape, as a small page (a JSON body would puzzle a phone's browser)."""
    described = errors.describe(exc)
    html = render_template("not_found.html", lang=lang, **described)
    return Response(html, status=described["status"], mimetype="text/html")
