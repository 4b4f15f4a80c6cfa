"""A crawler of the whole API, for the privacy tests: every route of the app's URL map, with its
path parameters filled from the real ids (and some that do not exist), every query parameter the
OpenAPI document names, bad input, wrong methods, and the pages that follow.

The requests are built from the app, not from a list kept here: a new route or query parameter
is crawled as soon as it exists, and a parameter the crawler cannot fill fails the test.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.routing import Rule

from api.docs import ASSETS
from api.limits import MAX_SEQ

GRIEVANCE_IDS = "test.grievance-ids"  # app.extensions: ids of the grievances a test reported
_PARAM_RE = re.compile(r"<(?:[^:<>]+:)?([a-z_]+)>")
_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
# Filter values that select something in the seeded world (``seed_secrets``).
QUERY_VALUES = {
    "site": "site-a",
    "mineral": "tin",
    "custodian": "exporter-a",
    "status": "exported",
    "country": "CD",
    "cooperative": "coop-a",
    "inspection_status": "green",
    "subject_kind": "site",
    "subject_id": "site-a",
    "claim": "child_labour_free",
    "attestor": "auditor-a",
    "subject": "lot:lot-1",
    "code": "mass_mismatch",
    "severity": "warning",
    "limit": "1",
    "format": "json",
    "from": "1",
    "to": "20",
    "seq": "3",
    "size": "10",
    "old": "2",
    "since": "2",
    "new": "10",
    "category": "security_forces",
    "resolved": "false",
}


@dataclass(frozen=True)
class Seen:
    """One response of the crawl."""

    method: str
    url: str
    status: int
    body: bytes
    headers: tuple[tuple[str, str], ...]

    def texts(self) -> list[str]:
        """The body and headers as text, and every base64 string of a JSON body decoded."""
        body = self.body.decode("utf-8", errors="replace")
        found = [body, repr(self.headers)]
        for value in _json_strings(self.body):
            decoded = _b64(value)
            if decoded is not None:
                found.append(decoded)
        return found


def _json_strings(body: bytes) -> Iterator[str]:
    import json

    try:
        stack = [json.loads(body)]
    except ValueError:
        return
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
        elif isinstance(value, str):
            yield value


def _b64(value: str) -> str | None:
    if len(value) < 8 or len(value) % 4:
        return None
    try:
        return base64.b64decode(value, validate=True).decode("utf-8", errors="replace")
    except (binascii.Error, ValueError):
        return None


def ids(client: FlaskClient) -> dict[str, list[Any]]:
    """Values for every path parameter: all the real ids, then some that do not exist; for a
    route with several parameters (their names joined by ``+``), tuples of values."""
    size = client.get("/v1/checkpoint?format=json").get_json()["size"]
    entries = [client.get(f"/v1/entries/{seq}").get_json() for seq in range(size)]
    digests = sorted({d for entry in entries for d in entry["statement"]["sd"]})

    def listed(path: str) -> list[str]:
        return [item["id"] for item in client.get(f"{path}?limit=200").get_json()["items"]]

    return {
        "seq": [str(seq) for seq in range(size)] + [str(size), str(MAX_SEQ)],
        "lot_id": [*listed("/v1/lots"), "no-such-lot", "bad id!"],
        "actor_id": [*listed("/v1/actors"), "no-such-actor", "x" * 65],
        "site_id": [*listed("/v1/sites"), "no-such-site"],
        "miner_id": [*listed("/v1/miners"), "no-such-miner", "bad id!"],
        "incident_id": [*listed("/v1/incidents"), "no-such-incident", "bad id!"],
        # grievances are listed to their readers only: the tests that seed them say which
        "grievance_id": [*client.application.extensions.get(GRIEVANCE_IDS, []), "grv-none", "bad!"],
        "seq+digest": [
            *((str(seq), d) for seq, entry in enumerate(entries) for d in entry["statement"]["sd"]),
            *((str(seq), d) for seq in (0, size) for d in digests[:1]),  # not its entry, none
            ("1", "0" * 64),
            ("1", "not-a-digest"),
        ],
        "name": [*sorted(ASSETS), "index.html", "..%2Fdocs.py"],
        "filename": ["app.js"],
    }


def _fill(rule: Rule, values: dict[str, list[Any]]) -> list[str]:
    names = _PARAM_RE.findall(rule.rule)
    if not names:
        return [rule.rule]
    name = "+".join(names)
    assert name in values, f"the crawler cannot fill {name} of {rule.rule}: add values"
    combos = [combo if len(names) > 1 else (combo,) for combo in values[name]]
    return [_substitute(rule.rule, combo) for combo in combos]


def _substitute(path: str, values: tuple[str, ...]) -> str:
    parts = iter(values)
    return _PARAM_RE.sub(lambda _: quote(next(parts), safe=""), path)


def _queries(doc: dict[str, Any], path: str) -> list[str]:
    """Query strings for a GET path: each parameter alone, all together, and bad ones."""
    operation = doc["paths"].get(path, {}).get("get", {})
    names = [p["name"] for p in operation.get("parameters", []) if p["in"] == "query"]
    if not names:
        return []
    unknown = [name for name in names if name not in QUERY_VALUES and name != "cursor"]
    assert not unknown, f"the crawler has no value for {unknown} of {path}: add one"
    found = [urlencode({name: QUERY_VALUES[name]}) for name in names if name != "cursor"]
    found.append(urlencode({n: QUERY_VALUES[n] for n in names if n != "cursor"}))
    found += [urlencode({name: "!!"}) for name in names]  # 400s
    found += ["unknown_parameter=1", "limit=0", "cursor=not-a-cursor"]
    return found


def _openapi_path(rule: Rule) -> str:
    return _PARAM_RE.sub(lambda m: "{" + m.group(1) + "}", rule.rule)


def requests(app: Flask, client: FlaskClient) -> list[tuple[str, str]]:
    """Every (method, url) of the crawl."""
    values = ids(client)
    doc = client.get("/openapi.json").get_json()
    found: list[tuple[str, str]] = []
    for rule in app.url_map.iter_rules():
        allowed = sorted((rule.methods or set()) & set(_METHODS))
        wrong = next(m for m in _METHODS if m not in allowed)
        for url in _fill(rule, values):
            found += [(method, url) for method in allowed]
            found.append((wrong, url))  # 405
        for query in _queries(doc, _openapi_path(rule)):
            found.append(("GET", f"{rule.rule}?{query}"))
    return found


def crawl(app: Flask, headers: dict[str, str] | None = None) -> list[Seen]:
    """Request everything (with ``headers``), following ``next_cursor`` of list pages."""
    client = app.test_client()
    seen: list[Seen] = []
    queue = requests(app, client)
    while queue:
        method, url = queue.pop(0)
        response = client.open(url, method=method, headers=headers or {})
        seen.append(
            Seen(method, url, response.status_code, response.get_data(), tuple(response.headers))
        )
        queue += _next_page(method, url, response)
        response.close()
    return seen


def _next_page(method: str, url: str, response: Any) -> list[tuple[str, str]]:
    if method != "GET" or response.status_code != 200 or not response.is_json:
        return []
    body = response.get_json()
    cursor = body.get("next_cursor") if isinstance(body, dict) else None
    if not cursor:
        return []
    base = re.sub(r"[?&]cursor=[^&]*", "", url)
    joiner = "&" if "?" in base else "?"
    return [("GET", f"{base}{joiner}cursor={quote(cursor)}")]


def public_snapshot(app: Flask) -> dict[str, tuple[int, bytes]]:
    """What an anonymous reader gets from every GET of the crawl."""
    return {s.url: (s.status, s.body) for s in crawl(app) if s.method == "GET"}
