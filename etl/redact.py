"""The secrets this process holds, and their removal from text a server sent.

A debugging gateway may echo request headers (X-Auth-Token, Authorization) in its error body;
the client knows every secret it sent, so none of them is stored, logged or printed from such
text. Every secret is held here as soon as it is read or obtained: the config's, a token file's,
an IAM token IAM gave. This module imports nothing of ours: every layer may use it.
"""

from __future__ import annotations

import re
import threading

REDACTED = "[REDACTED]"
SHORTEST = 6  # shorter values (a test's "t") would redact ordinary words

_held: set[str] = set()
_pattern: re.Pattern[str] | None = None
_lock = threading.Lock()


def remember_secrets(*values: str | None) -> None:
    """Remember secrets (None and very short values are ignored)."""
    global _pattern
    fresh = {v for v in values if v and len(v) >= SHORTEST} - _held
    if not fresh:
        return
    with _lock:
        _held.update(fresh)
        # Longest first: a secret that contains another is removed whole.
        ordered = sorted(_held, key=len, reverse=True)
        _pattern = re.compile("|".join(re.escape(v) for v in ordered))


def redact(text: str) -> str:
    """Return `text` with every held secret replaced by [REDACTED]."""
    pattern = _pattern
    return text if pattern is None or not text else pattern.sub(REDACTED, text)


def redact_or_none(text: str | None) -> str | None:
    """Return `redact(text)`, or None for None."""
    return None if text is None else redact(text)
