"""Reading HTTP answers without trusting them: bodies are read up to a bound, never whole.

Shared by the SWR client and the IAM token request, whose servers (or whatever answers in
their place: a proxy, a wrong URL) may send an endless body or a gzip bomb.
"""

from __future__ import annotations

import aiohttp

from etl.errors import LimitError


async def read_capped(
    resp: aiohttp.ClientResponse, limit: int, bound: str = "crawl.max_page_bytes"
) -> bytes:
    """Return the response body, or raise LimitError once more than `limit` bytes arrive, on
    the wire or decompressed (aiohttp decompresses as we read, so a gzip bomb stops here);
    `bound` names the limit in the message."""
    if resp.content_length is not None and resp.content_length > limit:
        raise _too_large(resp, limit, bound)
    chunks: list[bytes] = []
    size = 0
    async for chunk in resp.content.iter_any():
        size += len(chunk)
        wire = getattr(resp.content, "total_compressed_bytes", None) or 0
        if size > limit or wire > limit:
            raise _too_large(resp, limit, bound)
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(resp: aiohttp.ClientResponse, limit: int, bound: str) -> LimitError:
    return LimitError(
        f"HTTP {resp.status} answer larger than {bound} ({limit} bytes); stopped reading it",
        error_code="ETL.MAX_PAGE_BYTES",
        request_id=resp.headers.get("X-Request-Id"),
    )
