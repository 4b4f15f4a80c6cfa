"""Schemathesis against our own OpenAPI document: generated requests never get a 5xx.

Every operation in ``/openapi.json`` is exercised with requests generated from its schema,
with coop-a's API token so that writes get past authentication and reach the parsers and the
rules. Schemathesis's pytest plugin does not run under pytest 9, so the test drives its
Hypothesis strategies directly; the number of examples is bounded so that CI stays quick.
"""

from __future__ import annotations

import os

import schemathesis
from api_helpers import bearer
from flask import Flask
from hypothesis import HealthCheck, given, settings

EXAMPLES = 15 if os.environ.get("CI", "").lower() == "true" else 10


def test_no_generated_request_gets_a_server_error(app: Flask) -> None:
    schema = schemathesis.openapi.from_wsgi("/openapi.json", app)
    headers = bearer(app, "coop-a")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 20  # every route of the API, not an empty document

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck),
                  derandomize=True, database=None)  # fmt: skip
        def no_server_error(case: schemathesis.Case) -> None:
            response = case.call(headers=headers)
            assert response.status_code < 500, (case.method, case.path, response.text[:300])
            assert "Traceback" not in response.text

        no_server_error()
