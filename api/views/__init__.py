"""The ``/v1`` blueprints. A view parses (schemas), calls one function, and serialises.

Write routes (:mod:`api.views.statements`) call :mod:`api.submissions`, which appends through the
Ledger; read routes call :mod:`api.queries` with the request's connection, or the Ledger's own
read and proof methods. Authorisation, when it comes, is a decorator on the write views.
"""

from __future__ import annotations

from api.blueprint import Api
from api.views import custody, log, registry, statements


def register(api: Api) -> None:
    for blueprint in (statements.blp, log.blp, registry.blp, custody.blp):
        api.register_blueprint(blueprint)
