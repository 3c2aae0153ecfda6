"""Misbehaving HTTP servers on 127.0.0.1 for the download faults. Each stops by itself: every
loop is bounded in count and in time, and the fixture closes them after the test."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class Served:
    url: str


@contextlib.contextmanager
def silent_server() -> Iterator[Served]:
    """Accepts connections (the kernel's backlog does) and never says a word."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    try:
        yield Served(f"http://127.0.0.1:{listener.getsockname()[1]}/python.tar.gz")
    finally:
        listener.close()


@contextlib.contextmanager
def trickle_server(
    size: int, *, every: float = 0.2, max_seconds: float = 60.0, chunk: bytes = b"x"
) -> Iterator[Served]:
    """Answers each request with headers for `size` bytes, then sends `chunk` every `every`
    seconds, for at most `max_seconds` (or until the client goes away)."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve_one(conn: socket.socket) -> None:
        with conn:
            conn.settimeout(5)
            with contextlib.suppress(OSError):
                conn.recv(65536)  # the request; its content does not matter
                head = f"HTTP/1.1 200 OK\r\nContent-Length: {size}\r\n\r\n"
                conn.sendall(head.encode())
                sent, started = 0, time.monotonic()
                while sent < size and not stop.is_set():
                    if time.monotonic() - started > max_seconds:
                        break
                    conn.sendall(chunk)
                    sent += len(chunk)
                    time.sleep(every)

    def serve() -> None:
        deadline = time.monotonic() + max_seconds
        while not stop.is_set() and time.monotonic() < deadline:
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=serve_one, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield Served(f"http://127.0.0.1:{listener.getsockname()[1]}/python.tar.gz")
    finally:
        stop.set()
        thread.join(timeout=5)
        listener.close()
