"""The ``/v1`` blueprints. A view parses (schemas), calls one function, and serialises.

Write routes (:mod:`api.views.statements`) call :mod:`api.submissions`, which appends through the
Ledger; read routes call :mod:`api.queries` with the request's connection, or the Ledger's own
read and proof methods. Writes and private reads (:mod:`api.views.private`) need an API token
(:mod:`api.auth`, a decorator on those views).
"""

from __future__ import annotations

from api import auth
from api.blueprint import Api
from api.views import (
    custody,
    duediligence,
    grievances,
    indicators,
    log,
    private,
    provenance,
    registry,
    statements,
)


def register(api: Api) -> None:
    auth.document(api)
    blueprints = (
        statements.blp,
        log.blp,
        registry.blp,
        custody.blp,
        duediligence.blp,
        private.blp,
        provenance.blp,
        *grievances.BLUEPRINTS,
        *indicators.BLUEPRINTS,
    )
    for blueprint in blueprints:
        api.register_blueprint(blueprint)
