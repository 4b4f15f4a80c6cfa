"""The OpenAPI document lists every route; the docs page works without the internet."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from api import limits

SQLITE_ONLY = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
_METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE"}


def _routes(app: Flask) -> dict[str, set[str]]:
    """The app's /v1 routes in OpenAPI path syntax, with their methods."""
    found: dict[str, set[str]] = {}
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/v1"):
            path = re.sub(r"<(?:[a-z]+(?:\([^)]*\))?:)?([a-z_]+)>", r"{\1}", rule.rule)
            found.setdefault(path, set()).update((rule.methods or set()) & _METHODS)
    return found


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [v for k, v in node.items() if k == "$ref"] + [
            r for v in node.values() for r in _refs(v)
        ]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


@SQLITE_ONLY
def test_the_openapi_document_lists_every_route(app: Flask, client: FlaskClient) -> None:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    doc = response.get_json()
    assert doc["openapi"].startswith("3.0")
    routes = _routes(app)
    # 24, the 4 provenance routes (bundle, provenance, QR x2) and the 4 due-diligence routes
    # (incidents, one incident, a lot's taint, a site's status), the 4 grievance paths (report
    # and list, one, its conversion, a site's counts) and the indicators
    assert len(routes) == 37
    assert set(doc["paths"]) == set(routes)
    for path, methods in routes.items():
        operations = doc["paths"][path]
        assert {m.upper() for m in operations if m.upper() in _METHODS} == methods, path
        for operation in operations.values():
            if isinstance(operation, dict) and "responses" in operation:
                assert "default" in operation["responses"]  # the error shape
    for ref in _refs(doc):
        node = doc
        for part in ref.removeprefix("#/").split("/"):
            node = node[part]
    assert set(doc["components"]["schemas"]["Error"]["properties"]) == {
        "code", "status", "message", "errors"}  # fmt: skip
    assert f"Batch: {limits.MAX_BATCH} statements" in doc["info"]["description"]


@SQLITE_ONLY
def test_the_openapi_document_is_valid(client: FlaskClient) -> None:
    validator = pytest.importorskip("openapi_spec_validator")
    validator.validate(client.get("/openapi.json").get_json())


@SQLITE_ONLY
def test_the_docs_page_needs_no_internet(client: FlaskClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "http://" not in html and "https://" not in html and '"//' not in html
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert len(assets) == 3
    for asset in assets:
        assert asset.startswith("/docs/assets/")
        response = client.get(asset)
        assert response.status_code == 200 and len(response.data) > 1000
        response.close()
    assert '"validatorUrl": null' in html
    assert client.get("/docs/assets/index.html").status_code == 404
    assert client.get("/docs/assets/..%2F__init__.py").status_code == 404


@SQLITE_ONLY
def test_the_error_statuses_of_a_route_are_documented_with_one_layer(
    app: Flask, client: FlaskClient
) -> None:
    """blp.errors documents each status as flask-smorest's alt_response does, and adds one
    call layer to the route for all of them."""
    doc = client.get("/openapi.json").get_json()
    submit = doc["paths"]["/v1/statements"]["post"]["responses"]
    assert {"400", "401", "403", "404", "409", "413", "415", "422", "503"} <= set(submit)
    assert submit["422"] == {"$ref": "#/components/responses/UNPROCESSABLE_ENTITY"}
    layers, view = 0, app.view_functions["statements.submit"]
    while hasattr(view, "__wrapped__"):
        layers, view = layers + 1, view.__wrapped__
    assert view.__qualname__ == "submit"
    assert layers == 7  # auth, doc, webargs, arguments, response, the 200, the errors (was 15)
