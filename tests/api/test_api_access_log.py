"""``ledger serve``'s access logger writes exactly gunicorn's access line, with less work."""

from __future__ import annotations

import logging
import os
import time
from datetime import timedelta
from typing import Any

import pytest
from gunicorn.config import Config
from gunicorn.glogging import Logger, SafeAtoms

from api import access_log
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


# -- the line written directly: the same line as gunicorn's, buffered ------------------------
class _Stream:
    """A stream that records what was written and when it was flushed."""

    def __init__(self) -> None:
        self.text = ""
        self.flushed = ""

    def write(self, text: str) -> int:
        self.text += text
        return len(text)

    def flush(self) -> None:
        self.flushed = self.text


def _alone() -> None:
    """Only gunicorn's handler on its access logger, as under gunicorn: pytest adds its capture
    handlers to every logger that does not propagate, for the duration of each test."""
    found = logging.getLogger("gunicorn.access")
    found.handlers[:] = [h for h in found.handlers if getattr(h, "_gunicorn", False)]


def _direct(stream: _Stream) -> AccessLogger:
    cfg = Config()
    cfg.set("accesslog", "-")
    _alone()
    logger = AccessLogger(cfg)
    assert logger._direct is not None
    logger._direct.setStream(stream)  # type: ignore[arg-type]
    return logger


ENVIRONS = {
    "every field": _ENVIRON,
    "a bearer token": {**_ENVIRON, "HTTP_AUTHORIZATION": "Bearer x"},
    "no referer, agent or address": {
        k: v
        for k, v in _ENVIRON.items()
        if k not in ("HTTP_REFERER", "HTTP_USER_AGENT", "REMOTE_ADDR")
    },
    "quotes everywhere": {**_ENVIRON, "REMOTE_ADDR": 'a"b', "HTTP_REFERER": '"r"',
                          "HTTP_AUTHORIZATION": "Basic InVzZXIiOnBhc3M="},  # "user":pass
}  # fmt: skip


class _Sent:
    def __init__(self, status: object, sent: object) -> None:
        self.status, self.sent, self.headers = status, sent, ()


@pytest.mark.parametrize("environ", ENVIRONS.values(), ids=ENVIRONS.keys())
@pytest.mark.parametrize(
    "resp",
    [_Response(), _Sent("404 NOT FOUND", None), _Sent(200, 0)],
    ids=["sent", "nothing sent", "status an int"],
)
def test_the_direct_line_is_gunicorns(environ: dict[str, Any], resp: Any) -> None:
    stream = _Stream()
    logger = _direct(stream)
    logger.now = lambda: '[01/Dec/2026:22:00:00 "+0000]'  # type: ignore[method-assign]
    logger.access(resp, _Request(), environ, timedelta(seconds=1))
    gunicorn = Logger(Config())
    gunicorn.now = logger.now  # type: ignore[method-assign]
    atoms = gunicorn.atoms(resp, _Request(), environ, timedelta(seconds=1))
    assert stream.text == Config().access_log_format % SafeAtoms(atoms) + "\n"


def test_the_time_field_is_gunicorns() -> None:
    logger = AccessLogger(Config())
    before = Logger(Config()).now()
    found = logger.now()
    assert found in (before, Logger(Config()).now())  # the same second, or the next one
    assert logger.now() is logger.now()  # formatted once a second


def test_direct_lines_are_not_flushed_line_by_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(access_log, "FLUSH_SECONDS", 3600)  # the flusher will not run here
    stream = _Stream()
    logger = _direct(stream)
    logger.access(_Response(), _Request(), _ENVIRON, timedelta(seconds=1))
    logger.access(_Response(), _Request(), _ENVIRON, timedelta(seconds=1))
    assert stream.text.count("\n") == 2
    assert stream.flushed == ""


def test_direct_lines_are_flushed_within_the_period(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(access_log, "FLUSH_SECONDS", 0.05)
    stream = _Stream()
    logger = _direct(stream)
    logger.access(_Response(), _Request(), _ENVIRON, timedelta(seconds=1))
    logger.access(_Response(), _Request(), _ENVIRON, timedelta(seconds=1))
    assert stream.text.count("\n") == 2
    deadline = time.monotonic() + 5
    while stream.flushed != stream.text and time.monotonic() < deadline:
        time.sleep(0.01)
    assert stream.flushed == stream.text


def test_a_forked_worker_starts_its_own_flusher(monkeypatch: pytest.MonkeyPatch) -> None:
    flusher = access_log.Flusher(0.01)
    stream = _Stream()
    handler = logging.StreamHandler(stream)
    flusher.written(handler)
    monkeypatch.setattr(os, "getpid", lambda: -7)  # as in a worker forked after that write
    stream.write("a worker's line\n")
    flusher.written(handler)
    deadline = time.monotonic() + 5
    while stream.flushed != stream.text and time.monotonic() < deadline:
        time.sleep(0.01)
    assert stream.flushed == stream.text


@pytest.mark.parametrize(
    "options",
    [{"access_log_format": "%(h)s %(r)s"}, {"accesslog": "/dev/null"}, {"syslog": True},
     {"logconfig_dict": {"version": 1}}],
    ids=["another format", "a log file", "syslog", "a logging config"],
)  # fmt: skip
def test_other_configurations_go_through_gunicorn(options: dict[str, Any]) -> None:
    cfg = Config()
    cfg.set("accesslog", "-")
    for name, value in options.items():
        cfg.set(name, value)
    _alone()
    logger = AccessLogger(cfg)
    try:
        assert logger._direct is None
    finally:  # the file or socket gunicorn opened for it
        for handler in logger.access_log.handlers + logger.error_log.handlers:
            handler.close()
    assert _direct(_Stream())._direct is not None
