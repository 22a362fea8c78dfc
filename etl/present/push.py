"""The metrics file sent to a Prometheus Pushgateway: one HTTP PUT, bounded as a whole.

A batch job is gone before Prometheus scrapes it, so the gateway keeps its last push. The push
comes after the run is committed and its lock released, and is an extra: whatever the gateway
does (nothing listening, an https port written as http://, garbage, a broken, endless or
trickling answer, a redirect, an error page), the push ends within its one deadline (name
lookup, connect, send and the whole answer) as one line saying why, and the run's outcome
stands.
"""

from __future__ import annotations

import http.client
import re
import socket
import threading
import time
from base64 import urlsafe_b64encode
from dataclasses import dataclass

from yarl import URL

from etl.present.text import printable
from etl.redact import redact

PLAIN_LABEL = re.compile(r"[A-Za-z0-9_.-]+")
MAX_ANSWER_BYTES = 65_536  # what is read of an answer at most: a gateway says little
SHOWN_CHARS = 200  # what a warning quotes of a refusal at most
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class AnswerTooLarge(Exception):
    """The gateway's answer is longer than a Pushgateway ever says (MAX_ANSWER_BYTES)."""


@dataclass(frozen=True)
class Gateway:
    """Where the metrics go: a Pushgateway's `http(s)://HOST[:PORT]` (the config's rule: no user,
    no path) and the one deadline of a push to it."""

    url: str
    timeout_s: float


def pushgateway_group(gateway: str, writer: str) -> str:
    """Return the Pushgateway URL of this writer's group: job `swr-etl`, label `writer`
    (base64-encoded, as the Pushgateway allows, when the name is more than plain text)."""
    if PLAIN_LABEL.fullmatch(writer):
        label = f"writer/{writer}"
    else:
        label = f"writer@base64/{urlsafe_b64encode(writer.encode()).decode()}"
    return f"{gateway.rstrip('/')}/metrics/job/swr-etl/{label}"


def push(body: bytes, gateway: Gateway, writer: str) -> str | None:
    """Replace this writer's group in the gateway with `body` (HTTP PUT); return None once the
    gateway took it, else why not, in one line. Returns within `gateway.timeout_s` whatever
    the gateway does: the exchange runs in a thread of its own, cut off at the deadline (a
    name lookup, for one, cannot be interrupted otherwise)."""
    exchange = Exchange(pushgateway_group(gateway.url, writer), body, gateway.timeout_s)
    worker = threading.Thread(target=exchange.run, name="pushgateway", daemon=True)
    worker.start()
    worker.join(gateway.timeout_s)
    if worker.is_alive():
        exchange.cut_off()  # a trickling answer ends now rather than at its own pace
        return exchange.late
    return exchange.problem


class Exchange:
    """One PUT and its whole answer (at most MAX_ANSWER_BYTES), each wait bounded by what is
    left of the deadline; `problem` says how it ended (None: a complete 2xx answer)."""

    def __init__(self, url: str, body: bytes, timeout_s: float) -> None:
        self.url = URL(url)
        self.body = body
        self.deadline = time.monotonic() + timeout_s
        self.late = f"no complete answer within {timeout_s:g} s"
        self.problem: str | None = self.late
        self.stage = "connecting or sending"
        self.connection: http.client.HTTPConnection | None = None

    def run(self) -> None:
        """Send the metrics and read the answer; any failure is the push's, never the run's."""
        try:
            self.problem = self.exchange()
        except TimeoutError:
            self.problem = self.late
        except Exception as exc:  # the gateway is not ours: whatever it does is a reason
            self.problem = failure(exc, self.url.scheme, self.stage)
        finally:
            if self.connection is not None:
                self.connection.close()

    def exchange(self) -> str | None:
        """PUT the body and read the answer; return why it is a refusal (None: taken)."""
        https = self.url.scheme == "https"
        kind = http.client.HTTPSConnection if https else http.client.HTTPConnection
        self.connection = kind(self.url.raw_host or "", self.url.port, timeout=self.left())
        headers = {"Content-Type": CONTENT_TYPE}
        self.connection.request("PUT", self.url.raw_path_qs, body=self.body, headers=headers)
        self.stage = "reading the answer"
        self.wait()
        answer = self.connection.getresponse()
        return refusal(answer, self.read(answer))

    def read(self, answer: http.client.HTTPResponse) -> bytes:
        """Return the answer's whole body; raise AnswerTooLarge past MAX_ANSWER_BYTES (the
        rest is never read)."""
        body = b""
        while len(body) <= MAX_ANSWER_BYTES:
            self.wait()
            chunk = answer.read1(MAX_ANSWER_BYTES + 1 - len(body))
            if not chunk:
                return body
            body += chunk
        raise AnswerTooLarge

    def left(self) -> float:
        """Return the seconds left before the deadline; raise TimeoutError past it."""
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError
        return left

    def wait(self) -> None:
        """Bound the next read by what is left of the deadline."""
        if self.connection is not None and self.connection.sock is not None:
            self.connection.sock.settimeout(self.left())

    def cut_off(self) -> None:
        """End the exchange from another thread: a blocked read returns at once."""
        connection = self.connection
        sock = connection.sock if connection is not None else None
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # already closed


def refusal(answer: http.client.HTTPResponse, body: bytes) -> str | None:
    """Return why a gateway's answer is a refusal (None for 2xx): the status, where a redirect
    pointed (never followed: the metrics go where the config says), and the first line of a
    plain-text reason, which is what a Pushgateway sends."""
    status = answer.status
    if 200 <= status < 300:
        return None
    said = f"the Pushgateway answered HTTP {status}"
    if 300 <= status < 400:
        return f"{said}, a redirect to {shown(answer.getheader('Location') or '?')} (not followed)"
    if (answer.getheader("Content-Type") or "").startswith("text/plain"):
        first = body.decode("utf-8", "replace").strip().split("\n", 1)[0]
        if first:
            return f"{said}: {shown(first)}"
    return said


def failure(exc: Exception, scheme: str, stage: str) -> str:
    """Return, in one line, why an exchange failed at `stage`."""
    if isinstance(exc, http.client.RemoteDisconnected):
        return "the gateway closed the connection without answering"
    if isinstance(exc, (http.client.BadStatusLine, http.client.LineTooLong)):
        hint = " (an https:// port written as http://?)" if scheme == "http" else ""
        return f"the answer is not HTTP{hint}"
    if isinstance(exc, http.client.IncompleteRead):
        return "the answer broke off"
    if isinstance(exc, AnswerTooLarge):
        return f"an answer longer than {MAX_ANSWER_BYTES // 1024} KiB: not a Pushgateway's"
    if isinstance(exc, http.client.HTTPException):
        return shown(f"the answer is not valid HTTP: {exc or type(exc).__name__}")
    if isinstance(exc, OSError) and exc.strerror:
        return shown(f"{exc.strerror} while {stage}")
    return shown(f"{type(exc).__name__} while {stage}: {exc}" if str(exc) else type(exc).__name__)


def shown(text: str) -> str:
    """Return gateway text fit for one log line: secrets removed, controls escaped, short."""
    line = printable(redact(text))
    return line if len(line) <= SHOWN_CHARS else line[: SHOWN_CHARS - 1] + "…"
