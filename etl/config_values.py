"""The values config keys hold, and their rules: a secret that can travel in an HTTP header,
an http(s) URL of a host, an `s3://bucket/prefix` lake, a duration such as `6h`. The models of
`etl.config` use them; `etl.config_file` and the lake's storage read them too."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pydantic import JsonValue, SecretStr
from yarl import URL

# How the configuration reference shows a key's value (`10800 (3h)`, `67108864 (64 MiB)`), and
# a key that also takes a duration (`6h`: seconds_of).
SECONDS: dict[str, JsonValue] = {"unit": "seconds"}
BYTES: dict[str, JsonValue] = {"unit": "bytes"}
DURATION: dict[str, JsonValue] = {"unit": "seconds", "duration": True}


def header_safe(value: SecretStr | None) -> SecretStr | None:
    """Return a secret that can travel in an HTTP header; raise (without showing it) if not."""
    if value is not None and unsafe_in_header(value.get_secret_value()):
        raise ValueError(HEADER_UNSAFE)
    return value


def unsafe_in_header(text: str) -> bool:
    """Return True if `text` holds a line break, a space or another control character."""
    return any(c.isspace() or not c.isprintable() for c in text)


HEADER_UNSAFE = "contains a line break, space or control character (value not shown)"


def checked_url(value: str) -> str:
    """Return an http(s) URL of a host (and port) only; raise without echoing it, since it
    may have been built from an environment variable that holds a secret."""
    try:
        url = URL(value)
        port = url.port
    except (ValueError, TypeError):
        raise ValueError("not a valid URL (value not shown)") from None
    if url.scheme not in ("http", "https") or not url.host or port is None:
        raise ValueError("must be http(s)://HOST[:PORT] (value not shown)")
    if url.user or url.password or url.path not in ("", "/") or url.query_string or url.fragment:
        raise ValueError("must be http(s)://HOST[:PORT], with no path, query or user")
    return value


@dataclass(frozen=True)
class S3Location:
    """An `s3://bucket/prefix` lake: the bucket and the key prefix (no slashes around it)."""

    bucket: str
    prefix: str

    @property
    def url(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}".rstrip("/")

    def __str__(self) -> str:
        return self.url


def parse_s3_url(url: str) -> S3Location:
    """Return the bucket and prefix of `s3://bucket[/prefix]`; raise ValueError if malformed."""
    rest = url.removeprefix("s3://")
    bucket, _, prefix = rest.partition("/")
    if not bucket or any(c in bucket for c in " \\?#"):
        raise ValueError(f"{url!r} is not an s3:// URL of the form s3://bucket/prefix")
    body = prefix.removesuffix("/")
    # The S3 layer normalises `.`, `..` and empty segments when it writes, not when it lists:
    # a run would land somewhere its readers never look.
    rewritten = (
        [segment for segment in body.split("/") if segment in ("", ".", "..")] if body else []
    )
    if rewritten or "\\" in body:
        raise ValueError(
            f"{url!r}: the prefix may not hold '.', '..', empty segments or backslashes (the "
            "S3 layer would write elsewhere than it lists)"
        )
    return S3Location(bucket, body)


DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")
UNIT_S = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def seconds_of(text: str) -> float:
    """Return the seconds of a duration such as `90`, `30m`, `6h` or `2d`."""
    match = DURATION_RE.match(text)
    if match is None:
        raise ValueError(f"{text!r} is not a duration such as 30m, 6h or 2d")
    return float(match.group(1)) * UNIT_S[match.group(2)]


def seconds_if_text(value: Any) -> Any:
    """Return a duration given as text (`24h`) in seconds; anything else as it is (a key's
    validator, before its type is checked). `true` is no duration (a number type would read 1)."""
    if isinstance(value, bool):
        raise ValueError("expected a duration such as 90s, 30m, 6h, 2d or seconds, not true/false")
    return seconds_of(value) if isinstance(value, str) else value
