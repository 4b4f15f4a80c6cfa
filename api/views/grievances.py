"""Anonymous grievances: report one (no token, rate-limited), count them (public), read them and
turn one into an incident (the registrar, auditors and regulators; a token).

A grievance is not a log entry (see :mod:`ledger.custody.grievances`). The report route keeps
nothing that identifies the reporter, and drops the client's address and user agent from the
request's environment before the access log is written (:mod:`api.grievance_limits`). The
public routes return counts, never text.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, url_for
from flask.blueprints import BlueprintSetupState

from api import auth, grievance_limits, state, submissions
from api.blueprint import Blueprint
from api.queries.paging import keyset_page
from api.schemas.grievances import (
    ConversionReceiptSchema,
    GrievanceArgsSchema,
    GrievancePageSchema,
    GrievanceReceiptSchema,
    GrievanceReportSchema,
    GrievanceTextSchema,
    SiteGrievancesSchema,
)
from api.schemas.log import SubmissionSchema
from ledger.custody import grievances

_SUBMISSION = SubmissionSchema()

reports = Blueprint(
    "grievance_reports",
    __name__,
    url_prefix="/v1",
    description="Anonymous grievances about a mine site: no account, no token, rate-limited; "
    "nothing that identifies the reporter is kept.",
)
blp = Blueprint(
    "grievances",
    __name__,
    url_prefix="/v1",
    description="Grievances counted per site (public), read and turned into incidents by the "
    "registrar, auditors and regulators (token).",
)


@reports.record_once
def _limit(setup: BlueprintSetupState) -> None:
    app: Flask = setup.app  # type: ignore[assignment]  # always a Flask app here
    grievance_limits.install(app, _sealer_of(setup), reports)


def _sealer_of(setup: BlueprintSetupState) -> Any:
    service = setup.app.extensions.get(state.EXTENSION)
    return None if service is None else service.ledger.sealer


@reports.route("/grievances", methods=["POST"])
@reports.arguments(GrievanceReportSchema)
@reports.response(201, GrievanceReceiptSchema, description="Received; keep the id.")
@reports.errors(400, 404, 413, 415, 429, 503)
def report(args: dict[str, Any]) -> Any:
    """Report a problem at a registered mine site, anonymously.

    No token. The text is stored encrypted and read only by the registrar, auditors and
    regulators; the server keeps no IP address, user agent or time of day (only the day), and
    nothing here is a log entry. Limited per client address (429 `rate_limited` beyond it).
    """
    ledger = state.ledger()
    return grievances.report(ledger.engine, ledger.sealer, **args).to_json(), 201


@blp.route("/sites/<site_id>/grievances", methods=["GET"])
@blp.response(200, SiteGrievancesSchema)
@blp.errors(404)
def site_grievances(site_id: str) -> Any:
    """How many grievances a site has, by status and category: counts only, never text."""
    return grievances.site_counts(state.connection(), site_id)


@blp.after_request
def _private(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


@blp.route("/grievances", methods=["GET"])
@auth.required
@blp.doc(security=auth.SECURITY)
@blp.arguments(GrievanceArgsSchema, location="query")
@blp.response(200, GrievancePageSchema)
@blp.errors(400, 401, 403)
def list_grievances(args: dict[str, Any]) -> Any:
    """Grievances, oldest day first, without their text (registrar, auditors, regulators).

    Within a day they come in the order of their random ids, which says nothing about when
    each arrived.
    """
    grievances.require_reader(auth.caller())
    conn = state.connection()
    query = grievances.listing(conn, site=args.get("site"), status=args.get("status"))
    order = (grievances.GRIEVANCES.c.received, grievances.GRIEVANCES.c.id)
    return keyset_page(
        conn, query, order, cursor=args["cursor"], limit=args["limit"], convert=_listed
    )


def _listed(row: Any) -> dict[str, Any]:
    return grievances.from_row(row).to_json()


@blp.route("/grievances/<grievance_id>", methods=["GET"])
@auth.required
@blp.doc(security=auth.SECURITY)
@blp.response(200, GrievanceTextSchema)
@blp.errors(401, 403, 404)
def get_grievance(grievance_id: str) -> Any:
    """One grievance with its text (registrar, auditors, regulators)."""
    grievances.require_reader(auth.caller())
    return grievances.read(state.connection(), state.ledger().sealer, grievance_id).to_json()


@blp.route("/grievances/<grievance_id>/incident", methods=["POST"])
@auth.required
@blp.doc(security=auth.SECURITY)
@blp.arguments(_SUBMISSION)
@blp.response(201, ConversionReceiptSchema, description="The incident is appended.")
@blp.alt_response(
    200,
    schema=ConversionReceiptSchema,
    success=True,
    description="The same incident again: already in the log.",
)
@blp.errors(400, 401, 403, 404, 409, 413, 415, 422, 503)
def convert(item: dict[str, Any], grievance_id: str) -> Any:
    """Turn a grievance into an incident the registrar signed (registrar only).

    The body is a signed `incident` statement (as for `POST /v1/statements`) whose
    `body.grievance` names this grievance. Refused before anything is appended if the
    grievance does not exist (404 `unknown_grievance`) or is already converted (409
    `grievance_converted`); once the incident is committed the grievance is marked converted.
    """
    who = auth.caller()
    grievances.require_converter(who)
    auth.authorise(who, item)
    statement = submissions.parse(item).envelope.statement
    ledger = state.ledger()
    receipt = grievances.convert(
        ledger.engine,
        statement,
        grievance_id,
        lambda: submissions.submit(ledger, item, converting=True),
        lambda done: done.seq,
    )
    converted = grievances.read(state.connection(), None, grievance_id, text=False)
    body = {**vars(receipt), "grievance": converted.to_json()}
    location = url_for("log.get_entry", seq=receipt.seq)
    return body, 201 if receipt.created else 200, {"Location": location}


BLUEPRINTS = (reports, blp)
