"""Paging through SWR lists: what a list is (`SwrList`), what an answer is, and the two ways
SWR lists page — by marker (v3: string or integer, `nextMarker`/`next_marker`/`has_more`) and
by offset and limit (v2, with `Content-Range`). The client's `iter_pages` runs either."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, Protocol, TypeVar

from etl.errors import ResponseError

MAX_PAGE_SIZE = 1000  # the API page: "A maximum of 1,000 records can be returned."
T = TypeVar("T")
P = TypeVar("P", bound="Paged")


class Paged(Protocol):
    """What a page of any SWR list offers the paging core: the marker fields it carried."""

    @property
    def markers(self) -> Mapping[str, Any]: ...


@dataclass(frozen=True)
class SwrList(Generic[P]):
    """One SWR list: its path, the query every page shares, how a page body is read, the name
    its errors carry (the target, or the organization listed), and how it pages: by `marker`
    (v3) or by `offset` and `limit` (v2; `page_size` rows a page)."""

    path: str
    query: tuple[tuple[str, str], ...]
    decode: Callable[[bytes], Awaitable[P]]
    target: str | None = None
    paging: Literal["marker", "offset"] = "marker"
    page_size: int = MAX_PAGE_SIZE

    def paginator(self) -> Paginator:
        """Return a fresh paging state for this list."""
        return MarkerPaginator() if self.paging == "marker" else OffsetPaginator(self.page_size)


class Paginator(Protocol):
    """Paging state: whether a page follows, what asks for it, and what a page teaches."""

    @property
    def has_next(self) -> bool: ...

    def query(self) -> list[tuple[str, str]]: ...

    def advance(self, answer: Answer[Any]) -> None: ...


@dataclass(frozen=True)
class Answer(Generic[T]):
    """A successful answer: the body as its decoder read it, its request id, and the
    Content-Range header the v2 lists send (`offset-last/total`)."""

    body: T
    request_id: str | None
    content_range: str | None = None


@dataclass
class MarkerPaginator:
    """Follows `nextMarker` (or `next_marker`) until it is absent/empty or `has_more` is false."""

    marker: str | None = None
    started: bool = False
    seen: set[str] = field(default_factory=set)

    @property
    def has_next(self) -> bool:
        return not self.started or self.marker is not None

    def query(self) -> list[tuple[str, str]]:
        """Return the query pair that asks for the next page (none for the first)."""
        return [] if self.marker is None else [("marker", self.marker)]

    def advance(self, answer: Answer[Any]) -> None:
        """Take the next marker from a page."""
        self.update(answer.body.markers, answer.request_id)

    def update(self, body: Mapping[str, Any], request_id: str | None) -> None:
        """Take the next marker from a page body; raise ResponseError on a marker loop."""
        self.started = True
        raw = body.get("nextMarker", body.get("next_marker"))
        marker = None if raw is None or raw == "" else str(raw)
        if body.get("has_more") is False:
            marker = None
        elif body.get("has_more") is True and marker is None:
            raise ResponseError(
                "has_more is true but no next marker was given", request_id=request_id
            )
        if marker is not None and marker in self.seen:
            raise ResponseError(
                f"marker {marker!r} repeated: pagination loop", request_id=request_id
            )
        if marker is not None:
            self.seen.add(marker)
        self.marker = marker


@dataclass
class OffsetPaginator:
    """Follows `offset` and `limit` (the v2 lists; always both: Open Telekom Cloud rejects
    `limit` alone). Done on a short page or when the offset reaches the total Content-Range
    gives, whichever comes first; a page at or beyond the total is an error, never a loop.
    Keeps the first and last totals seen: they differ when someone pushed meanwhile."""

    limit: int
    offset: int = 0
    done: bool = False
    first_total: int | None = None
    last_total: int | None = None

    @property
    def has_next(self) -> bool:
        return not self.done

    def query(self) -> list[tuple[str, str]]:
        return [("offset", str(self.offset)), ("limit", str(self.limit))]

    def advance(self, answer: Answer[Any]) -> None:
        """Take a page: move the offset past it. A page the total cannot hold, or a list that
        ends short of its total, contradicts the `Content-Range` header: a ResponseError that
        names the header and the values, never fewer rows."""
        rows, total = len(answer.body), range_total(answer.content_range)
        header = f"Content-Range {answer.content_range!r}"
        if total is not None:
            self.first_total = total if self.first_total is None else self.first_total
            self.last_total = total
            if rows and self.offset >= total:
                raise ResponseError(
                    f"a page of {rows} at offset {self.offset}, beyond the total of {total} "
                    f"({header})",
                    request_id=answer.request_id,
                )
            if self.offset + rows > total:
                raise ResponseError(
                    f"{self.offset + rows} rows served by offset {self.offset}, more than the "
                    f"total of {total} ({header})",
                    request_id=answer.request_id,
                )
        self.offset += rows
        self.done = rows < self.limit or (total is not None and self.offset >= total)
        if self.done and total is not None and self.offset < total:
            raise ResponseError(
                f"the list ended after {self.offset} rows, short of its total of {total} "
                f"({header})",
                request_id=answer.request_id,
            )

    def check_progress(self, rows: int, fresh: int, request_id: str | None) -> None:
        """Raise ResponseError when a later page holds only rows already served while the
        total has not moved: the server ignores `offset` (with a moved total, pushes shifted
        the list, and the repeats are kept once)."""
        offset = self.offset - rows
        if offset > 0 and rows and not fresh and self.first_total == self.last_total:
            raise ResponseError(
                f"the page at offset {offset} repeats {rows} rows already served while the "
                f"total stayed {self.last_total}: the server ignores `offset`",
                request_id=request_id,
            )


def range_total(value: str | None) -> int | None:
    """Return the total of a `Content-Range: offset-last/total` header (None if absent or
    unreadable)."""
    total = (value or "").rpartition("/")[2].strip()
    return int(total) if total.isdigit() else None
