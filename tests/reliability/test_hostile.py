"""Hostile responses: each gives correct data or a clear per-target error; the run never crashes.

Each case serves one hostile repository (`ns/hostile`) beside a normal one (`ns/normal`). The
test id says what the user gets: `correct-data` or `target-fails`. Every case is read at the
page level in `tests/test_hostile_pages.py` (milliseconds); a whole sync runs for the few
(`WHOLE_SYNC`) where the crawl and the warehouse add something: a retried answer, a failed
target beside a healthy one with its request id stored, duplicates and warnings counted, nulls
stored.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.commands import invoke
from tests.reliability.hostile import (
    Script,
    page,
    raw,
    status_of,
    stored,
    tag,
    write_hostile_config,
)

NORMAL = [tag("n1"), tag("n2")]
A, B, C = tag("a"), tag("b"), tag("c")
HTML = b"<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"

# (script, expected tags of ns/hostile or None if the target must fail, text the error must
# contain, warnings counted for the target)
CASES: list[Any] = [
    pytest.param(
        Script([page([A, B])], first=[raw(502, HTML, "text/html")]),
        [A, B],
        None,
        0,
        id="html-error-page-once-correct-data",
    ),
    pytest.param(
        Script([raw(502, HTML, "text/html")]),
        None,
        "non-JSON response body (text/html",
        0,
        id="html-error-page-always-target-fails",
    ),
    pytest.param(
        Script([page([A])], first=[raw(200, b"")]),
        [A],
        None,
        0,
        id="empty-200-body-once-correct-data",
    ),
    pytest.param(
        Script([raw(200, b"")]), None, "not valid JSON", 0, id="empty-200-body-always-target-fails"
    ),
    pytest.param(
        Script([raw(200, b"not json at all")]),
        None,
        "not valid JSON",
        0,
        id="non-json-200-target-fails",
    ),
    pytest.param(
        Script([raw(200, b"[1, 2]")]),
        None,
        "expected a JSON object",
        0,
        id="json-array-body-target-fails",
    ),
    pytest.param(
        Script([raw(200, b'{"tags": {"a": 1}}')]),
        None,
        "not a list of objects",
        0,
        id="tags-not-a-list-target-fails",
    ),
    pytest.param(
        Script([raw(200, b'{"tags": ["a", "b"]}')]),
        None,
        "not a list of objects",
        0,
        id="tags-of-strings-target-fails",
    ),
    pytest.param(
        Script([raw(200, b'{"items": []}')]),
        None,
        "no 'tags' key",
        0,
        id="no-tags-key-target-fails",
    ),
    pytest.param(
        Script([raw(200, b'{"tags": null}')]), [], None, 0, id="tags-null-correct-data-empty"
    ),
    pytest.param(
        Script(
            [page([{k: v for k, v in A.items() if k in ("tag", "digest")}])],
        ),
        [{"tag": "a", "digest": A["digest"]}],
        None,
        0,
        id="missing-fields-correct-data-as-null",
    ),
    pytest.param(
        Script([page([tag("a", size=None, created=None, image_id=None)])]),
        [tag("a", size=None, created=None, image_id=None)],
        None,
        0,
        id="null-values-correct-data",
    ),
    pytest.param(
        Script([page([tag("a"), tag("b", tag=None)])]),
        None,
        "no 'tag' name",
        0,
        id="null-tag-name-target-fails",
    ),
    pytest.param(
        Script([page([tag("a", size="1000")])]),
        None,
        "field 'size' is str",
        0,
        id="size-as-string-target-fails",
    ),
    pytest.param(
        Script([page([tag("a", id=12.5)])]),
        None,
        "field 'id' is float",
        0,
        id="id-as-float-target-fails",
    ),
    pytest.param(
        Script([page([tag("a", is_trusted="false")])]),
        None,
        "field 'is_trusted' is str",
        0,
        id="bool-as-string-target-fails",
    ),
    pytest.param(
        Script([page([tag("a", size=2**63)])]),
        None,
        "out of range",
        0,
        id="size-beyond-int64-target-fails",
    ),
    pytest.param(
        Script([page([tag("a", size=2**64)])]),
        None,
        "is float",
        0,
        id="size-beyond-uint64-parsed-as-float-target-fails",
    ),
    pytest.param(
        Script([page([tag("a", extra="x", nested={"k": [1]})])]),
        [A],
        None,
        0,
        id="extra-fields-correct-data",
    ),
    pytest.param(
        Script([page([tag("t" * 10_000)])]),
        [tag("t" * 10_000)],
        None,
        0,
        id="10000-character-tag-correct-data",
    ),
    pytest.param(
        Script([page([tag("版本-ümlaut-🚀")])]),
        [tag("版本-ümlaut-🚀")],
        None,
        0,
        id="unicode-tag-correct-data",
    ),
    pytest.param(
        Script([page([], "p1"), page([A, B])]),
        [A, B],
        None,
        0,
        id="empty-page-with-marker-correct-data",
    ),
    pytest.param(
        Script([page([A], "p1"), page([B], "p1")]),
        None,
        "repeated",
        0,
        id="repeating-marker-target-fails",
    ),
    pytest.param(
        Script([page([A, B], "p1"), page([B, C])]),
        [A, B, C],
        None,
        1,
        id="duplicated-tags-across-pages-correct-data",
    ),
    pytest.param(
        Script([page([A], "p1", key="next_marker"), page([B])]),
        [A, B],
        None,
        0,
        id="next_marker-spelling-correct-data",
    ),
    pytest.param(
        Script([page([A], "p1", has_more=True), page([B], has_more=False)]),
        [A, B],
        None,
        0,
        id="has_more-false-ends-correct-data",
    ),
    pytest.param(
        Script([page([A], has_more=True)]),
        None,
        "has_more is true but no next marker",
        0,
        id="has_more-without-marker-target-fails",
    ),
    pytest.param(
        Script([page([tag("a"), tag("b", path="p" * 70_000)])]),
        None,
        "tag 'b': field 'path' holds 70000 bytes, more than the 65536",
        0,
        id="oversized-field-small-page-target-fails",
    ),
    pytest.param(
        Script([page([tag(f"t{i}") for i in range(300)] + [tag("z", image_id="i" * 100_000)])]),
        None,
        "tag 'z': field 'image_id' holds 100000 bytes",
        0,
        id="oversized-field-large-page-target-fails",
    ),
    pytest.param(
        Script([page([A, B], marker="p1"), page([B, A])]),
        [A, B],
        None,
        2,
        id="a-page-of-only-tags-already-seen-correct-data-and-warnings",
    ),
    pytest.param(
        Script([page([tag("a", created="last tuesday")])]),
        [tag("a", created=None)],
        None,
        1,
        id="unparseable-time-correct-data-null-and-warning",
    ),
]


WHOLE_SYNC = {
    "html-error-page-once-correct-data",
    "html-error-page-always-target-fails",
    "missing-fields-correct-data-as-null",
    "duplicated-tags-across-pages-correct-data",
    "a-page-of-only-tags-already-seen-correct-data-and-warnings",
    "unparseable-time-correct-data-null-and-warning",
    "oversized-field-large-page-target-fails",
}


@pytest.mark.parametrize(
    ("script", "expected", "error", "warns"), [c for c in CASES if c.id in WHOLE_SYNC]
)
def test_hostile_response(
    tmp_path: Path,
    hostile: Callable[[dict[str, Script]], str],
    script: Script,
    expected: list[dict[str, Any]] | None,
    error: str | None,
    warns: int,
) -> None:
    url = hostile({"ns/hostile": script, "ns/normal": Script([page(NORMAL)])})
    result = invoke("sync", "-c", str(write_hostile_config(tmp_path, url)), "--no-progress")
    db = tmp_path / "swr.duckdb"
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert [r["tag"] for r in stored(db, "normal")] == [
        "n1",
        "n2",
    ]  # the other target is unaffected
    status, message, warnings, request_id = status_of(db, "hostile")
    if expected is None:
        assert result.exit_code == 1, result.output
        assert status == "failed" and error is not None and error in message
        assert request_id == "req-hostile"
        assert stored(db, "hostile") == []
    else:
        assert result.exit_code == 0, result.output
        assert status == "ok"
        got = stored(db, "hostile")
        assert [r["tag"] for r in got] == sorted(t["tag"] for t in expected)
        for row, want in zip(got, sorted(expected, key=lambda t: t["tag"]), strict=True):
            assert row["digest"] == want.get("digest") and row["id"] == want.get("id")
            assert row["size"] == want.get("size") and row["image_id"] == want.get("image_id")
            assert (row["created"] is None) == (want.get("created") is None)
        assert warnings == warns
