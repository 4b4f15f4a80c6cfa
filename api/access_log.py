"""``ledger serve``'s access log: gunicorn's access line, written for a fraction of its cost.

For every request gunicorn's :class:`~gunicorn.glogging.Logger` makes each request header,
response header and environ entry a field of the line (``{name}i``, ``{name}o``, ``{name}e``),
escapes every field, builds a :class:`logging.LogRecord`, formats it, writes it and flushes the
stream: a system call per request. Together that was about 6% of a submission's CPU.

When the server logs to standard output with gunicorn's default format (what ``ledger serve``
configures), :class:`AccessLogger` formats that same line directly from the few environ entries
it names and writes it to the same stream without flushing; a daemon thread of each worker
flushes the stream at most :data:`FLUSH_SECONDS` after a line was written, and the stream is
flushed when the worker exits (gunicorn ends a worker with ``sys.exit`` on every path it
controls: graceful stop, restart, timeout). A worker killed outright (SIGKILL: the kernel's
out-of-memory killer, or gunicorn after its graceful timeout) loses the lines of its last
second at most; the ledger's records are unaffected. Any other configuration (another format,
a log file, syslog, a logging config) goes through gunicorn's own method, with the fields of
the headers and the environ left out when the format names none of them.

Anonymous grievance reports are never logged (see :meth:`AccessLogger.access`).
"""

from __future__ import annotations

import logging
import os
import threading
import time
import traceback
from typing import Any

from gunicorn.config import AccessLogFormat
from gunicorn.glogging import Logger

# The longest an access line waits in the stream's buffer before it is flushed.
FLUSH_SECONDS = 1.0
# gunicorn's default access format: the one line :meth:`AccessLogger.line` writes itself.
DEFAULT_FORMAT: str = AccessLogFormat.default
_TIME_FORMAT = "[%d/%b/%Y:%H:%M:%S %z]"  # gunicorn's Logger.now
# What the fields of gunicorn's access line read from the environ (Logger.atoms and _get_user).
_ACCESS_ENVIRON = ("REMOTE_ADDR", "HTTP_AUTHORIZATION", "REQUEST_METHOD", "RAW_URI",
                   "SERVER_PROTOCOL", "PATH_INFO", "QUERY_STRING", "HTTP_REFERER",
                   "HTTP_USER_AGENT")  # fmt: skip
# Requests the access log never records (see AccessLogger.access).
_UNLOGGED = frozenset({"/v1/grievances", "/v1/grievances/"})


class AccessLogger(Logger):  # type: ignore[misc]
    """gunicorn's logger, without the work its access line does not use."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        self._direct = self._direct_handler(cfg)
        self._flusher = Flusher(FLUSH_SECONDS)
        self._second: tuple[int, str] = (-1, "")

    def _direct_handler(self, cfg: Any) -> logging.StreamHandler[Any] | None:
        """The handler whose stream gets the lines :meth:`line` writes, or None when gunicorn
        should write them (any configuration but the default format on standard output)."""
        if cfg.access_log_format != DEFAULT_FORMAT or cfg.accesslog != "-":
            return None
        if cfg.logconfig or cfg.logconfig_dict or cfg.logconfig_json:
            return None
        if cfg.syslog and not cfg.disable_redirect_access_to_syslog:
            return None
        handlers = self.access_log.handlers
        if len(handlers) != 1 or type(handlers[0]) is not logging.StreamHandler:
            return None
        handler: logging.StreamHandler[Any] = handlers[0]
        if handler.formatter is None or handler.formatter._fmt != self.access_fmt:
            return None
        return handler

    def access(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> None:
        """Every request but an anonymous grievance report, whose line (its time to the
        second, beside the other requests of that moment) could help tell who made it."""
        if environ.get("REQUEST_METHOD") == "POST" and environ.get("PATH_INFO") in _UNLOGGED:
            return
        handler = self._direct
        if handler is None:
            super().access(resp, req, environ, request_time)
            return
        try:
            line = self.line(resp, environ)
            handler.acquire()
            try:
                handler.stream.write(line)
            finally:
                handler.release()
            self._flusher.written(handler)
        except Exception:  # as gunicorn does: a failed access line never fails the request
            self.error(traceback.format_exc())

    def line(self, resp: Any, environ: dict[str, Any]) -> str:
        """gunicorn's access line in its default format, with its newline.

        The same fields as :meth:`Logger.atoms` reads, with the double quotes of text escaped
        as :class:`~gunicorn.glogging.SafeAtoms` escapes them.
        """
        status = resp.status
        if isinstance(status, str):
            status = status.split(None, 1)[0]
        sent = getattr(resp, "sent", None)
        address, user, moment, request, status, size, referer, agent = (
            _quoted(environ.get("REMOTE_ADDR", "-")),
            _quoted(self._get_user(environ) or "-"),
            _quoted(self.now()),
            _quoted(
                f"{environ['REQUEST_METHOD']} {environ['RAW_URI']} {environ['SERVER_PROTOCOL']}"
            ),
            _quoted(status),
            _quoted(str(sent) if sent is not None else "-"),
            _quoted(environ.get("HTTP_REFERER", "-")),
            _quoted(environ.get("HTTP_USER_AGENT", "-")),
        )
        return f'{address} - {user} {moment} "{request}" {status} {size} "{referer}" "{agent}"\n'

    def now(self) -> str:
        """gunicorn's time field, formatted once a second rather than once a line."""
        second = int(time.time())
        if self._second[0] != second:
            self._second = (second, time.strftime(_TIME_FORMAT, time.localtime(second)))
        return self._second[1]

    def atoms(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> Any:
        """gunicorn's fields; without those of the headers and the environ when the format
        names none (a third of gunicorn's cost for its access line)."""
        if "{" in self.cfg.access_log_format:
            return super().atoms(resp, req, environ, request_time)
        read = {name: environ[name] for name in _ACCESS_ENVIRON if name in environ}
        return super().atoms(resp, (), read, request_time)


def _quoted(value: Any) -> Any:
    """A field as :class:`~gunicorn.glogging.SafeAtoms` keeps it: text with ``"`` escaped."""
    return value.replace('"', '\\"') if isinstance(value, str) else value


class Flusher:
    """Flushes a handler's stream at most ``seconds`` after something was written to it.

    One daemon thread per process, started on the first write in that process (gunicorn forks
    its workers after the logger is made, and a thread does not survive a fork); it sleeps
    while nothing is waiting to be flushed. At exit the interpreter flushes standard output.
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._waiting = threading.Event()
        self._pid: int | None = None
        self._start = threading.Lock()

    def written(self, handler: logging.StreamHandler[Any]) -> None:
        """Note that ``handler``'s stream holds lines to flush."""
        if self._pid != os.getpid():
            self._begin(handler)
        if not self._waiting.is_set():
            self._waiting.set()

    def _begin(self, handler: logging.StreamHandler[Any]) -> None:
        with self._start:
            if self._pid == os.getpid():
                return
            self._waiting = threading.Event()  # the parent's may have been set when it forked
            thread = threading.Thread(
                target=self._run, args=(handler, self._waiting), name="access-log", daemon=True
            )
            thread.start()
            self._pid = os.getpid()

    def _run(self, handler: logging.StreamHandler[Any], waiting: threading.Event) -> None:
        while True:
            waiting.wait()
            time.sleep(self.seconds)
            waiting.clear()  # before flushing: a line written from now on waits for the next
            try:
                handler.flush()
            except Exception:  # noqa: S112 - a closed or broken stream: nothing to do here
                continue
