"""Registry text is data: what a registry sends (names, error messages) reaches terminals and
spreadsheets escaped, never as control sequences or formulas. Imports nothing heavy: the
command line uses it before the first request."""

from __future__ import annotations

import re
from typing import Any

# C0 and C1 controls, DEL, and the bidi marks and overrides that reorder what a terminal shows.
UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
# What a spreadsheet reads as a formula at the start of a cell (OWASP's CSV injection list).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def printable(text: str) -> str:
    """Return `text` with every control character (C0, C1, DEL, bidi) written as an escape:
    `\\x1b`, `\\u202e`. Nothing a registry sends can restyle, clear or retitle a terminal."""
    return UNPRINTABLE.sub(_escape, text)


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def spreadsheet_safe(value: Any) -> Any:
    """Return a CSV cell that no spreadsheet runs as a formula: text starting with = + - @, a
    tab or a carriage return gets a leading apostrophe (numbers stay numbers)."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value
