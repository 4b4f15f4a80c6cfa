"""``ledger serve``'s access logger writes exactly gunicorn's access line, with less work."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from gunicorn.config import Config
from gunicorn.glogging import Logger, SafeAtoms

from api.serve import AccessLogger

_ENVIRON = {
    "REMOTE_ADDR": "127.0.0.1",
    "REQUEST_METHOD": "POST",
    "RAW_URI": '/v1/statements?x="1"',
    "PATH_INFO": "/v1/statements",
    "QUERY_STRING": 'x="1"',
    "SERVER_PROTOCOL": "HTTP/1.1",
    "HTTP_USER_AGENT": 'curl/8 "quoted"',
    "HTTP_REFERER": "http://example.org/",
    "HTTP_AUTHORIZATION": "Basic dXNlcjpwYXNz",  # user:pass, so that %(u)s has a value
    "HTTP_X_FORWARDED_FOR": "10.0.0.1",
    "wsgi.url_scheme": "http",
}


class _Response:
    status = "201 CREATED"
    sent = 1234
    headers = (("Content-Type", "application/json"), ("Location", "/v1/entries/7"))


class _Request:
    headers = (("HOST", "127.0.0.1:8000"), ("USER-AGENT", 'curl/8 "quoted"'))


def _line(logger_class: type[Logger], access_format: str | None, environ: dict[str, Any]) -> str:
    cfg = Config()
    if access_format is not None:
        cfg.set("access_log_format", access_format)
    logger = logger_class(cfg)
    logger.now = lambda: "[01/Dec/2026:22:00:00 +0000]"  # type: ignore[method-assign]
    atoms = logger.atoms(_Response(), _Request(), environ, timedelta(seconds=1, microseconds=5))
    return str(cfg.access_log_format % SafeAtoms(atoms))


FORMATS = {
    "gunicorn's default": None,
    "every plain field": "%(h)s %(l)s %(u)s %(t)s %(r)s %(s)s %(m)s %(U)s %(q)s %(H)s %(b)s "
    "%(B)s %(f)s %(a)s %(T)s %(D)s %(M)s %(L)s %(p)s",
    "request, response and environ fields": "%({user-agent}i)s %({location}o)s "
    "%({wsgi.url_scheme}e)s %({x-forwarded-for}i)s %(a)s",
}


@pytest.mark.parametrize("access_format", FORMATS.values(), ids=FORMATS.keys())
@pytest.mark.parametrize("environ", [_ENVIRON, {**_ENVIRON, "HTTP_AUTHORIZATION": "Bearer x"}])
def test_the_access_line_is_gunicorns(access_format: str | None, environ: dict[str, Any]) -> None:
    line = _line(AccessLogger, access_format, environ)
    assert line == _line(Logger, access_format, environ)
    assert "POST" in line or "curl" in line


def test_a_plain_format_skips_the_headers_and_environ() -> None:
    cfg = Config()
    atoms = AccessLogger(cfg).atoms(_Response(), _Request(), _ENVIRON, timedelta(seconds=1))
    assert not any(key.endswith("}i") for key in atoms)
    assert "{wsgi.url_scheme}e" not in atoms
    assert "{http_x_forwarded_for}e" not in atoms
    assert atoms["u"] == "user"


def _logged(environ: dict[str, Any]) -> list[str]:
    cfg = Config()
    cfg.set("accesslog", "-")
    logger = AccessLogger(cfg)
    lines: list[str] = []
    logger.access_log.info = lambda fmt, atoms: lines.append(fmt % atoms)  # type: ignore[method-assign]
    logger.access(_Response(), _Request(), environ, timedelta(seconds=1))
    return lines


def test_an_anonymous_grievance_report_leaves_no_access_line() -> None:
    (line,) = _logged(_ENVIRON)  # an ordinary request is logged
    assert '"POST /v1/statements' in line
    report = {**_ENVIRON, "PATH_INFO": "/v1/grievances", "RAW_URI": "/v1/grievances"}
    assert _logged(report) == []
    read = {**report, "REQUEST_METHOD": "GET"}  # reading them (with a token) is logged
    assert len(_logged(read)) == 1
