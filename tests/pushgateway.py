"""A stand-in Prometheus Pushgateway on 127.0.0.1 for the tests of `output.pushgateway`, and
hostile ones: whatever else may answer at a gateway's address."""

from __future__ import annotations

import socket
import socketserver
import ssl
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import trustme


class Pushgateway:
    """A stand-in Prometheus Pushgateway on 127.0.0.1: records each request, answers `status`."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.received: list[tuple[str, str, str]] = []
        received = self.received

        class Handler(BaseHTTPRequestHandler):
            def do_PUT(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                received.append((self.command, self.path, body.decode()))
                self.send_response(gateway.status)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        gateway = self
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        """Stop answering (once; later calls do nothing): the port then refuses connections."""
        if self.server.socket.fileno() != -1:
            self.server.shutdown()
            self.server.server_close()


# --- gateways that are not one: what a wrong URL, a proxy or a broken server answers ---------

HEAD_END = b"\r\n\r\n"


def answer_bytes(*parts: bytes) -> Callable[[socket.socket, threading.Event], None]:
    """An answer: these bytes, then the connection closed."""

    def answer(conn: socket.socket, stop: threading.Event) -> None:
        for part in parts:
            conn.sendall(part)

    return answer


def trickle(
    head: bytes, every_s: float, count: int = 200
) -> Callable[[socket.socket, threading.Event], None]:
    """An answer that starts with `head`, then sends one more byte every `every_s` (`count`
    of them: a client that waits for the end waits a minute)."""

    def answer(conn: socket.socket, stop: threading.Event) -> None:
        conn.sendall(head)
        for _ in range(count):
            if stop.wait(every_s):
                return
            conn.sendall(b"x")

    return answer


def endless(head: bytes, line: bytes) -> Callable[[socket.socket, threading.Event], None]:
    """An answer that starts with `head`, then sends `line` again and again, as fast as the
    client reads."""

    def answer(conn: socket.socket, stop: threading.Event) -> None:
        conn.sendall(head)
        block = line * max(1, 65_536 // len(line))
        while not stop.is_set():
            conn.sendall(block)

    return answer


def silent(conn: socket.socket, stop: threading.Event) -> None:
    """No answer at all: the connection stays open until the client gives up."""
    stop.wait()


class HostileGateway:
    """A stand-in on 127.0.0.1 for what may sit at a Pushgateway's address: it reads each
    request whole, then answers as `answer` does (raw bytes, or nothing); with `tls`, a TLS
    port (speaking TLS to a client that speaks plain HTTP)."""

    def __init__(
        self,
        answer: Callable[[socket.socket, threading.Event], None],
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.stop = threading.Event()
        self.requests = 0
        gateway = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                conn: socket.socket = self.request
                try:
                    if tls is not None:
                        conn = tls.wrap_socket(conn, server_side=True)
                    read_request(conn)
                    gateway.requests += 1
                    answer(conn, gateway.stop)
                except OSError:
                    pass  # the client gave up, or spoke something else: as a server would

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        # http:// even for a TLS port: the mistake is the config's, that is the point.
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        """Stop every answer and the server."""
        self.stop.set()
        self.server.shutdown()
        self.server.server_close()


def read_request(conn: socket.socket) -> bytes:
    """Read one HTTP request whole (head and Content-Length body); return it."""
    data = b""
    while HEAD_END not in data:
        chunk = conn.recv(65_536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(HEAD_END)
    length = next(
        (
            int(line.split(b":", 1)[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        ),
        0,
    )
    while len(body) < length:
        chunk = conn.recv(65_536)
        if not chunk:
            break
        body += chunk
    return head + HEAD_END + body


def tls_context() -> ssl.SSLContext:
    """A server's TLS context with a certificate for 127.0.0.1 from a throwaway CA."""
    authority = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1").configure_cert(context)
    return context
