"""Helpers of the client tests: bodies, and a network that fails on demand.

:class:`Faulty` wraps a transport to play a network that goes down: refuse every request, refuse
after a budget of requests, or let a request reach the server and lose its answer.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
from sqlalchemy import Engine, select

from ledger.custody.log import LOG

URL = "http://ledger.test"
LOT_BODY = {
    "site": "site-a",
    "mineral": "tin",
    "form": "ore",
    "mass_g": 100_000,
    "grade_ppm": 500_000,
    "extracted": "2026-01-10",
}


def lot_body(lot: str, **overrides: Any) -> dict[str, Any]:
    """A lot.register body for coop-a at site-a."""
    return {**LOT_BODY, "lot": lot, "tags": [f"T-{lot}"], **overrides}


class Faulty(httpx.BaseTransport):
    """A transport in front of another that can fail like a network.

    Attributes:
        down: refuse every request with a connection error.
        budget: when not None, the number of requests still let through; then down.
        lose: requests (method, path) that reach the server but whose answer is lost.
        requests: every request seen, in order.
    """

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.down = False
        self.budget: int | None = None
        self.lose: set[tuple[str, str]] = set()
        self.requests: list[httpx.Request] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.down or self.budget == 0:
            raise httpx.ConnectError("connection refused", request=request)
        if self.budget is not None:
            self.budget -= 1
        response = self.inner.handle_request(request)
        if (request.method, request.url.path) in self.lose:
            response.read()
            raise httpx.ReadTimeout("the answer was lost", request=request)
        return response

    def paths(self, method: str = "POST") -> list[str]:
        return [r.url.path for r in self.requests if r.method == method]


class Rewriting(httpx.BaseTransport):
    """A transport that lets a server's JSON answer to one path be changed on its way back."""

    def __init__(
        self,
        inner: httpx.BaseTransport,
        path: str,
        rewrite: Callable[[Any], Any] | None = None,
        *,
        status: int | None = None,
    ) -> None:
        self.inner = inner
        self.path = path
        self.rewrite = rewrite
        self.status = status

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if request.url.path != self.path:
            return response
        response.read()
        body = json.loads(response.content)
        if self.rewrite is not None:
            body = self.rewrite(body)
        return httpx.Response(self.status or response.status_code, json=body)


def logged_counters(engine: Engine, key_id: str) -> list[int]:
    """The counters of ``key_id`` in the server's log, one per entry, in log order."""
    query = select(LOG.c.n).where(LOG.c.key_id == key_id).order_by(LOG.c.seq)
    with engine.connect() as conn:
        return [int(n) for n in conn.scalars(query)]
