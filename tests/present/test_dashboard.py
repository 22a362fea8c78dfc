"""The dashboard page as its HTML says it, without a browser (`etl.present.dashboard`): the
headline's values, the sections in reading order, each table's rows, and the cleanup rule the
note states and the query takes. `tests/test_dashboard.py` opens the page in Chromium."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

import pytest

from etl.present import dashboard
from etl.present.defaults import STALE_DAYS
from etl.store import queries, warehouse
from tests.present.two_days import BROKEN, TwoDays

# The page's tables, in the order a reader decides: health, what to delete, where storage is,
# how it grows, how old it is, what changed, who pulls, the largest.
TABLES = [
    "health",
    "failures",
    "candidates",
    "reclaimable",
    "retention",
    "organizations",
    "repositories",
    "growth_windows",
    "growers",
    "ages",
    "retagged",
    "pulls",
    "largest",
    "reused",
]


@dataclass
class Page(HTMLParser):
    """What a reader of the page sees: section titles and notes, the headline's values, each
    table's rows (by `data-value`, the exact values scripts read)."""

    titles: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    metrics: dict[str, str] = field(default_factory=dict)
    tables: dict[str, list[list[str]]] = field(default_factory=dict)
    _text: list[str] | None = None
    _table: str | None = None

    def __post_init__(self) -> None:
        super().__init__()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag in ("h2", "p") and (tag == "h2" or found.get("class") == "note"):
            self._text = []
        elif "data-metric" in found:
            self.metrics[str(found["data-metric"])] = str(found["data-value"])
        elif tag == "table":
            self._table = str(found["data-table"])
            self.tables[self._table] = []
        elif tag == "tr" and self._table is not None:
            self.tables[self._table].append([])
        elif tag == "td" and self._table is not None and "data-value" in found:
            self.tables[self._table][-1].append(str(found["data-value"]))

    def handle_data(self, data: str) -> None:
        if self._text is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("h2", "p") and self._text is not None:
            (self.titles if tag == "h2" else self.notes).append("".join(self._text))
            self._text = None
        elif tag == "table":
            self._table = None

    def rows(self, table: str) -> list[list[str]]:
        """The table's rows that hold values (not its head, nor its `(none)` row)."""
        return [row for row in self.tables[table] if row]


def page_of(two_days: TwoDays) -> Page:
    with warehouse.connect(two_days.db, read_only=True) as con:
        text = dashboard.render_dashboard(con)
    page = Page()
    page.feed(text)
    return page


@pytest.fixture(scope="module")
def page(two_days: TwoDays) -> Page:
    return page_of(two_days)


def test_the_page_has_its_sections_in_reading_order(page: Page) -> None:
    assert list(page.tables) == TABLES
    assert [title.split(" — ")[0] for title in page.titles] == [
        "Last run's health",
        "What to delete",
        "Reclaimable by staleness",
        "Retention preview",
        "Storage by organization",
        "Top repositories",
        "Growth over time",
        "Age and staleness",
        "Changes per run",
        "Pull activity",
        "Largest tags",
    ]


def test_the_headline_says_what_the_warehouse_holds_and_how_the_last_run_went(
    two_days: TwoDays, page: Page
) -> None:
    tags = two_days.current()
    assert page.metrics == {
        "repositories": "3",
        "tags": str(len(tags)),
        "total_size": str(sum(t.size for t in tags)),
        "unique_size": str(sum({t.digest: t.size for t in tags}.values())),
        "layer_bytes": "",  # no manifests collected
        "last_run_status": "partial",
    }


def test_the_failed_target_is_named_with_what_the_api_said(page: Page) -> None:
    [row] = page.rows("failures")
    assert row[:3] == [f"local:{BROKEN[0]}/{BROKEN[1]}", "500", "SVCSTG.SWR.5000001"]
    assert page.titles[0] == "Last run's health — failed targets: top 1 of 1 failed"


def test_the_moved_tag_is_the_latest_retagged(two_days: TwoDays, page: Page) -> None:
    [row] = page.rows("retagged")
    before, after = two_days.moved
    assert row[1:4] == [
        f"local:platform/web:{before.tag}",
        before.digest[:19],
        after.digest[:19],
    ]


def candidates_note(page: Page) -> str:
    """The note of "What to delete"."""
    return page.notes[next(i for i, t in enumerate(page.titles) if t.startswith("What to delete"))]


def test_the_cleanup_candidates_are_the_reports_default_rule(two_days: TwoDays, page: Page) -> None:
    assert candidates_note(page).startswith(f"Tags not pushed for {STALE_DAYS} days, per ")
    with warehouse.connect(two_days.db, read_only=True) as con:
        expected = queries.answer(con, f"SELECT * FROM cleanup_candidates({STALE_DAYS})")
    shown = [row[0] for row in page.rows("candidates")]
    assert shown == [f"{e}:{n}/{r}" for e, n, r, *_ in expected.rows]


@pytest.mark.parametrize(
    ("days", "candidates"),
    [
        pytest.param(0, 3, id="not-pushed-for-0-days-every-repository-is-a-candidate"),
        pytest.param(36_500, 0, id="not-pushed-for-a-century-none-is"),
    ],
)
def test_the_cleanup_note_and_its_candidates_follow_one_rule(
    two_days: TwoDays, monkeypatch: pytest.MonkeyPatch, days: int, candidates: int
) -> None:
    monkeypatch.setattr(dashboard, "STALE_DAYS", days)
    page = page_of(two_days)
    assert candidates_note(page).startswith(f"Tags not pushed for {days} days, per repository")
    assert len(page.rows("candidates")) == candidates
