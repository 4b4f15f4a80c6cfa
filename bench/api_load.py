"""The API benchmark's load generator: its own process, asyncio, pre-encoded HTTP/1.1 requests.

Run as ``python -m bench.api_load HOST PORT`` by :mod:`bench.api`, which sends it jobs as pickles
on stdin and reads the outcomes as pickles on stdout, one per job. A job is a list of
:data:`Request` (the key that signed it and the whole HTTP request, head and body, as bytes),
already in the order it should be sent, plus how to send it:

- ``closed``: ``concurrency`` requests in flight at all times (a new one as soon as one answers);
- ``open``: request ``i`` is *due* at ``start + i / rate``, whatever happened to the others.
  Its latency is measured from that due time, not from when it went out, so a server that falls
  behind shows its queue in the latency (no coordinated omission).

Either way a key has at most one request in flight, and its requests go in the order given:
the ledger refuses a counter below the key's last one, so they must arrive in order.

The client is deliberately small, because its CPU competes with the server's on a 2-core
machine: requests are encoded before the clock starts, connections are kept alive (one is
reopened only when the server closes it), and a response is read as head + ``Content-Length``
bytes and kept as bytes; the caller decodes the bodies after the clock stops. Each outcome
reports the CPU seconds this process used while its clock ran.

Standard library only; nothing of the ledger is imported here.
"""

from __future__ import annotations

import asyncio
import heapq
import os
import pickle
import sys
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, BinaryIO

Request = tuple[str, bytes]  # (key id, the whole HTTP request)
Answer = tuple[int, bytes, float]  # (HTTP status, body, latency in seconds)
RETRIES = 3  # a 503 ("try again shortly") is sent again, as a client would; counted


def encode_request(host: str, path: str, token: str, body: bytes) -> bytes:
    """A complete ``POST`` (head and JSON body) for a kept-alive connection."""
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode("ascii") + body


class Connection:
    """One kept-alive HTTP/1.1 connection; reopened when the server closes it."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.opened = 0

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        self.opened += 1

    async def send(self, request: bytes) -> tuple[int, bytes]:
        if self.writer is None:
            await self.open()
        assert self.reader is not None
        assert self.writer is not None
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length, close = 0, False
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"connection" and value.strip().lower() == b"close":
                close = True
        body = await self.reader.readexactly(length) if length else b""
        if close:
            self.close()
        return status, body

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


async def _send(conn: Connection, request: bytes, retried: list[int]) -> tuple[int, bytes]:
    """Send, and send again on 503: resubmitting a statement is idempotent (200 duplicate)."""
    status, body = await conn.send(request)
    for _ in range(RETRIES):
        if status != 503:
            break
        retried[0] += 1
        status, body = await conn.send(request)
    return status, body


@dataclass
class _Chains:
    """Which request each key sends next; a key with a request in flight is not ready."""

    requests: list[Request]
    chains: dict[str, deque[int]] = field(default_factory=dict)
    ready: list[tuple[int, str]] = field(default_factory=list)  # heap: (next index, key)
    left: int = 0
    wake: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        for index, (key, _) in enumerate(self.requests):
            self.chains.setdefault(key, deque()).append(index)
        self.ready = [(chain[0], key) for key, chain in self.chains.items()]
        heapq.heapify(self.ready)
        self.left = len(self.requests)

    async def take(self) -> int | None:
        while not self.ready:
            if self.left == 0:
                return None
            self.wake.clear()
            await self.wake.wait()
        index, _key = heapq.heappop(self.ready)
        return index

    def done(self, index: int) -> None:
        key = self.requests[index][0]
        chain = self.chains[key]
        chain.popleft()
        self.left -= 1
        if chain:
            heapq.heappush(self.ready, (chain[0], key))
        self.wake.set()


async def _closed(
    connections: list[Connection], requests: list[Request], retried: list[int]
) -> tuple[list[Answer | None], float]:
    chains = _Chains(requests)
    answers: list[Answer | None] = [None] * len(requests)

    async def worker(conn: Connection) -> None:
        while (index := await chains.take()) is not None:
            sent = time.perf_counter()
            status, body = await _send(conn, requests[index][1], retried)
            answers[index] = (status, body, time.perf_counter() - sent)
            chains.done(index)

    start = time.perf_counter()
    await asyncio.gather(*(worker(conn) for conn in connections))
    return answers, time.perf_counter() - start


async def _open(
    connections: list[Connection], requests: list[Request], rate: float, retried: list[int]
) -> tuple[list[Answer | None], float]:
    idle: asyncio.Queue[Connection] = asyncio.Queue()
    for conn in connections:
        idle.put_nowait(conn)
    host, port = connections[0].host, connections[0].port
    locks: dict[str, asyncio.Lock] = {key: asyncio.Lock() for key, _ in requests}
    answers: list[Answer | None] = [None] * len(requests)

    async def one(index: int, due: float) -> None:
        key, request = requests[index]
        async with locks[key]:  # FIFO: a key's requests go out in their due order
            if idle.empty():  # all busy: open one more rather than wait (that would hide time)
                connections.append(Connection(host, port))
                idle.put_nowait(connections[-1])
            conn = idle.get_nowait()
            status, body = await _send(conn, request, retried)
            answers[index] = (status, body, time.perf_counter() - due)
            idle.put_nowait(conn)

    tasks = []
    start = time.perf_counter()
    for index in range(len(requests)):
        due = start + index / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(index, due)))
    await asyncio.gather(*tasks)
    return answers, time.perf_counter() - start


async def _job(host: str, port: int, job: dict[str, Any]) -> dict[str, Any]:
    connections = [Connection(host, port) for _ in range(job["concurrency"])]
    for conn in connections:
        await conn.open()  # before the clock: connection set-up is not what is measured
    retried = [0]
    cpu = time.process_time()
    if job["mode"] == "closed":
        answers, elapsed = await _closed(connections, job["requests"], retried)
    else:
        answers, elapsed = await _open(connections, job["requests"], job["rate"], retried)
    cpu = time.process_time() - cpu
    opened = sum(conn.opened for conn in connections) - job["concurrency"]
    for conn in connections:
        conn.close()
    return {
        "answers": answers,
        "elapsed": elapsed,
        "cpu": cpu,
        "opened": opened,
        "retried": retried[0],
    }


def serve_jobs(host: str, port: int, stdin: BinaryIO, stdout: BinaryIO) -> None:
    """Run jobs until stdin closes; one outcome on stdout per job."""
    while True:
        try:
            job = pickle.load(stdin)
        except EOFError:
            return
        outcome = asyncio.run(_job(host, port, job))
        pickle.dump(outcome, stdout, protocol=pickle.HIGHEST_PROTOCOL)
        stdout.flush()


def main() -> None:
    # Outcomes go to the original stdout only; anything else printed goes to stderr.
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    serve_jobs(sys.argv[1], int(sys.argv[2]), sys.stdin.buffer, out)


if __name__ == "__main__":
    main()
