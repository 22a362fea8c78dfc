"""A stand-in Prometheus Pushgateway on 127.0.0.1 for the tests of `output.pushgateway`."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


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
