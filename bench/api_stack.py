"""The API benchmark's baseline: ``ledger serve``'s HTTP stack with no ledger behind it.

Run as ``python -m bench.api_stack HOST PORT RESPONSE_FILE`` by :mod:`bench.api`. It serves a
bare Flask application under gunicorn with exactly the settings of ``ledger serve``
(:func:`api.serve.gunicorn_options`: the same worker class, workers, threads and access log),
whose ``POST /v1/statements`` does what any submission costs at the least: it reads and parses
the JSON body, verifies one Ed25519 signature, and answers with a real receipt's bytes (taken
from the ledger server's answers in the same run). The API benchmark sends it the very requests
it sent the ledger, so the two rates side by side say what the ledger adds to its HTTP stack on
this machine, now: the raw limit of submissions over HTTP, as Ed25519 verifications per second
on one core are the raw limit of the core.
"""

from __future__ import annotations

import sys
from pathlib import Path

from flask import Flask, Response, request

from api.serve import WORKERS, Server, gunicorn_options
from bench.measure import RawVerify
from bench.workload import sample_statement


def create_stack_app(receipt: bytes) -> Flask:
    app = Flask(__name__)
    raw = RawVerify(sample_statement())  # a statement's signature, its key preloaded
    verify, signature, message = raw.key.verify, raw.signature, raw.message

    @app.post("/v1/statements")
    def submit() -> Response:
        body = request.get_json()
        if not isinstance(body, dict) or "envelope" not in body:
            return Response(b'{"code":"invalid"}', 400, mimetype="application/json")
        verify(signature, message)
        return Response(receipt, 201, mimetype="application/json")

    @app.get("/v1/checkpoint")
    def checkpoint() -> Response:  # what the benchmark polls until the server is up
        return Response(b"{}", 200, mimetype="application/json")

    return app


def main() -> None:
    host, port, response_file = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])
    receipt = response_file.read_bytes()
    Server(gunicorn_options(host, port, WORKERS), lambda: create_stack_app(receipt)).run()


if __name__ == "__main__":
    main()
