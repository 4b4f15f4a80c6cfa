"""``ledger serve``: the API under gunicorn, configured from the environment like the CLI.

The application is built once in the master first, so that a missing key, a wrong passphrase,
a database without a ledger or a failed start-up check is reported as one clear line before
anything listens; that first application is then closed, and each worker builds its own (one
engine and one Ledger per process: connections are never shared across a fork). Each worker
serves :data:`THREADS` requests at once on threads (gunicorn's ``gthread``) and keeps
connections alive between requests. The access log is gunicorn's line, written by
:class:`api.access_log.AccessLogger`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication
from sqlalchemy import select

from api import create_app, dispose, state
from api.access_log import AccessLogger
from ledger.custody.models import LotRow
from ledger.runtime import tune_gc

_WILDCARDS = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}  # noqa: S104
# Request threads per worker process. Submissions that arrive together in one process share
# one transaction and one fsync (the Ledger's group commit); with one thread per process every
# submission waits for its own. Kept below the engine's connection pool (5 + 10 overflow): a
# submission holds at most one pooled connection at a time.
THREADS = 12
WORKERS = 2  # worker processes: `ledger serve --workers` defaults to this


class Server(BaseApplication):  # type: ignore[misc]
    """A gunicorn application whose workers each call :func:`api.create_app` (or ``factory``:
    the API benchmark's bare-stack baseline)."""

    def __init__(self, options: dict[str, Any], factory: Callable[[], Flask] = create_app) -> None:
        self.options = options
        self.factory = factory
        super().__init__()

    def load_config(self) -> None:
        for name, value in self.options.items():
            if name in self.cfg.settings:  # newer settings are skipped on older gunicorns
                self.cfg.set(name, value)

    def load(self) -> Flask:
        app = self.factory()
        tune_gc()  # in each worker, after the app is built: its objects are frozen with it
        return app


def base_url(host: str, port: int) -> str:
    shown = _WILDCARDS.get(host, host)
    return f"http://[{shown}]:{port}" if ":" in shown else f"http://{shown}:{port}"


def demo_lot(app: Flask) -> str | None:
    """The demo's showcase lot when loaded, else the most recently created lot, if any."""
    from ledger.demo import SHOWCASE_LOT

    with app.app_context():
        conn = state.connection()
        if conn.execute(select(LotRow.id).where(LotRow.id == SHOWCASE_LOT)).first() is not None:
            return SHOWCASE_LOT
        found = conn.execute(select(LotRow.id).order_by(LotRow.created_seq.desc()).limit(1))
        return found.scalar()


def banner(app: Flask, host: str, port: int) -> list[str]:
    url = base_url(host, port)
    lines = [
        f"API docs:    {url}/docs",
        f"OpenAPI:     {url}/openapi.json",
        f"checkpoint:  {url}/v1/checkpoint",
    ]
    lot = demo_lot(app)
    if lot is not None:
        lines.append(f"a demo lot:  {url}/v1/lots/{lot}")
        lines.append(f"its history: {url}/v1/lots/{lot}/history")
        lines.append(f"its page:    {url}/p/{lot}  (what a buyer's scan of its QR code opens)")
        lines.append(f"its bundle:  {url}/v1/lots/{lot}/bundle  (ledger verify-bundle checks it)")
    held = held_lot(app)
    if held is not None:
        lines.append(f"bad news:    {url}/p/{held}  (held back by an open incident upstream)")
    return lines


def held_lot(app: Flask) -> str | None:
    """The demo's lot held back by its open incident, when the demo is loaded."""
    from ledger.demo import TAINTED_LOT

    with app.app_context():
        found = state.connection().execute(select(LotRow.id).where(LotRow.id == TAINTED_LOT))
        return found.scalar()


def gunicorn_options(host: str, port: int, workers: int) -> dict[str, Any]:
    """How ``ledger serve`` runs gunicorn (the API benchmark serves its bare-stack baseline
    with the very same settings)."""
    return {
        "bind": f"[{host}]:{port}" if ":" in host else f"{host}:{port}",
        "workers": workers,
        "worker_class": "gthread",
        "threads": THREADS,
        "proc_name": "asm-ledger",
        "accesslog": "-",
        "logger_class": AccessLogger,
        "timeout": 60,
        # gunicorn >= 25 opens a control socket in ~/.gunicorn by default; nothing uses it,
        # and two servers on one machine would share its path.
        "control_socket_disable": True,
    }


def run(host: str, port: int, workers: int, echo: Callable[[str], Any] = print) -> None:
    """Check the configuration, print where to look, and serve until stopped."""
    app = create_app()  # raises (ConfigError, IntegrityError) before anything listens
    try:
        lines = banner(app, host, port)
    finally:
        dispose(app)
    for line in lines:
        echo(line)
    options = gunicorn_options(host, port, workers)
    Server(options).run()
