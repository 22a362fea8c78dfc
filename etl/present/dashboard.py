"""The dashboard: one self-contained HTML file — Plotly's script inlined, so it opens from
`file://` with no network — built only from the public views, through the queries in
`sql/dashboard/`. No figure is computed here: the page and `swr-etl query` cannot disagree.

Plotly is an optional dependency (the `dashboard` extra): the sync never imports it unless
`output.dashboard` asks for the page.
"""

from __future__ import annotations

import html
import os
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from pathlib import Path
from string import Template
from typing import Any

import duckdb

from etl.errors import UsageError
from etl.present.formats import human_bytes, is_size
from etl.store.warehouse import sql

GIB = 2**30


@dataclass(frozen=True)
class Rows:
    """A query's answer: its column names and rows."""

    columns: list[str]
    rows: list[tuple[Any, ...]]

    def column(self, name: str) -> list[Any]:
        index = self.columns.index(name)
        return [row[index] for row in self.rows]


def rows_of(con: duckdb.DuckDBPyConnection, name: str) -> Rows:
    """Return the answer of `sql/dashboard/<name>.sql`, its text escaped for Plotly: Plotly
    draws labels as a subset of HTML, and registry text must show as text, never as a link or
    a style."""
    result = con.execute(sql(f"dashboard/{name}"))
    rows = [tuple(as_text(v) for v in row) for row in result.fetchall()]
    return Rows([d[0] for d in result.description or []], rows)


def as_text(value: Any) -> Any:
    """Return a cell as Plotly shows text literally: `<`, `>` and `&` as the entities Plotly
    decodes (it leaves `&quot;` undecoded, and quotes outside a tag are harmless)."""
    return html.escape(value, quote=False) if isinstance(value, str) else value


def chart_library() -> tuple[Any, str]:
    """Return Plotly's figure module and its script, or raise a one-line error saying how
    to install it."""
    try:
        import plotly.graph_objects as go
        import plotly.offline
    except ImportError:
        raise UsageError(
            "the dashboard needs plotly: pip install 'swr-tag-etl[dashboard]'"
        ) from None
    return go, plotly.offline.get_plotlyjs()


def render_dashboard(con: duckdb.DuckDBPyConnection) -> str:
    """Return the dashboard page for the warehouse behind `con`."""
    go, script = chart_library()
    totals = rows_of(con, "totals")
    sections = [
        storage_section(go, rows_of(con, "namespaces"), "organization", "Storage by organization"),
        storage_section(go, rows_of(con, "repositories"), "repository", "Top repositories"),
        growth_section(go, rows_of(con, "growth")),
        ages_section(go, rows_of(con, "ages")),
        reclaimable_section(go, rows_of(con, "reclaimable")),
        changes_section(go, rows_of(con, "changes"), rows_of(con, "retagged")),
        retention_section(go, rows_of(con, "retention")),
        pulls_section(go, rows_of(con, "pulls")),
        largest_section(go, rows_of(con, "largest")),
    ]
    page = Template((resources.files("etl.present") / "dashboard.html").read_text("utf-8"))
    return page.substitute(
        plotly=script,
        as_of=html.escape(utc(totals.rows[0][-1]) if totals.rows else "no run yet"),
        headline=headline(totals),
        sections="\n".join(sections),
    )


def write_dashboard(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """Write the dashboard to `path` atomically: a reader sees the old page or the new one."""
    text = render_dashboard(con)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        partial.write_text(text, encoding="utf-8")
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


# --- sections ---------------------------------------------------------------------------------


def headline(totals: Rows) -> str:
    """Return the headline cards; each carries its exact value for scripts and tests."""
    values = dict(zip(totals.columns, totals.rows[0], strict=True)) if totals.rows else {}
    cards = []
    for key, label in (
        ("repositories", "Repositories"),
        ("tags", "Tags"),
        ("total_size", "Total size"),
        ("unique_size", "Unique size (each image once)"),
    ):
        value = values.get(key)
        shown = human_bytes(value) if is_size(key) else f"{value or 0:,}"
        cards.append(
            f'<div class="metric" data-metric="{key}" data-value="{value or 0}">'
            f'<div class="label">{label}</div><div class="value">{shown}</div></div>'
        )
    return f'<div class="headline">{"".join(cards)}</div>'


def storage_section(go: Any, data: Rows, label: str, title: str) -> str:
    names = data.column(label)[::-1]
    fig = go.Figure(
        [
            go.Bar(
                name="unique", y=names, x=gib(data.column("unique_size"))[::-1], orientation="h"
            ),
            go.Bar(name="total", y=names, x=gib(data.column("total_size"))[::-1], orientation="h"),
        ]
    )
    fig.update_layout(barmode="group", xaxis_title="GiB")
    note = "Unique counts each image once; total counts every tag. The gap is sharing."
    return section(title, note, fig, data)


def growth_section(go: Any, data: Rows) -> str:
    times = data.column("snapshot_at")  # a date axis: runs minutes apart stay apart
    fig = go.Figure(
        [
            go.Scatter(
                name="total", x=times, y=gib(data.column("total_size")), mode="lines+markers"
            ),
            go.Scatter(
                name="unique", x=times, y=gib(data.column("unique_size")), mode="lines+markers"
            ),
        ]
    )
    fig.update_traces(connectgaps=False)
    fig.update_layout(yaxis_title="GiB", xaxis_title="run (UTC)")
    note = "Per run; a run in which a repository failed is a gap, never a drop."
    return section("Growth over time", note, fig, data)


def ages_section(go: Any, data: Rows) -> str:
    fig = go.Figure()
    for measure, name in (("age", "since created"), ("staleness", "since last push")):
        picked = [row for row in data.rows if row[0] == measure]
        fig.add_trace(go.Bar(name=name, x=[r[1] for r in picked], y=[r[2] for r in picked]))
    fig.update_layout(barmode="group", yaxis_title="tags", xaxis_title="age")
    return section(
        "Age and staleness", "Tags by time since creation and since the last push.", fig, data
    )


def reclaimable_section(go: Any, data: Rows) -> str:
    days = [f"{d} days" for d in data.column("days")]
    fig = go.Figure([go.Bar(x=days, y=gib(data.column("reclaimable_size")))])
    fig.update_layout(yaxis_title="GiB", xaxis_title="not pushed for")
    note = "Deleting tags not pushed for so long frees this (each image once, none still used)."
    return section("Reclaimable by staleness", note, fig, data)


def changes_section(go: Any, data: Rows, retagged: Rows) -> str:
    fig = go.Figure()
    for kind in ("added", "removed", "retagged", "repushed", "modified"):
        picked = [row for row in data.rows if row[2] == kind]
        fig.add_trace(go.Bar(name=kind, x=[r[1] for r in picked], y=[r[3] for r in picked]))
    fig.update_layout(barmode="stack", yaxis_title="tags", xaxis_title="run (UTC)")
    note = "Tags changed per run; beside them, the latest tags moved to another digest."
    return section("Changes per run", note, fig, retagged)


def retention_section(go: Any, data: Rows) -> str:
    fig = go.Figure([go.Bar(x=data.column("rule"), y=gib(data.column("freed_size")))])
    fig.update_layout(yaxis_title="GiB freed")
    note = "What SWR retention rules would delete; tags of unknown age are kept."
    return section("Retention preview", note, fig, data)


def pulls_section(go: Any, data: Rows) -> str:
    names = data.column("repository")[::-1]
    fig = go.Figure([go.Bar(y=names, x=data.column("pulls")[::-1], orientation="h")])
    fig.update_layout(xaxis_title="pulls observed")
    note = (
        "From the repository list's pull counter, between syncs that saw each repository."
        if data.rows
        else "No pull activity observed yet: it needs discovery and two syncs."
    )
    return section("Pull activity", note, fig, data)


def largest_section(go: Any, data: Rows) -> str:
    largest = [row for row in data.rows if row[0] == "largest"]
    fig = go.Figure(
        [
            go.Bar(
                y=[r[1] for r in largest][::-1],
                x=gib([r[2] for r in largest])[::-1],
                orientation="h",
            )
        ]
    )
    fig.update_layout(xaxis_title="GiB")
    note = "The largest tags, and the images tagged most often."
    return section("Largest tags and reused images", note, fig, data)


# --- building blocks ------------------------------------------------------------------------


def section(title: str, note: str, fig: Any, numbers: Rows) -> str:
    """Return one section: a chart with its numbers beside it."""
    fig.update_layout(
        margin={"l": 10, "r": 10, "t": 10, "b": 10}, height=360, legend={"orientation": "h"}
    )
    fig.update_yaxes(automargin=True)
    chart = fig.to_html(include_plotlyjs=False, full_html=False, config={"displayModeBar": False})
    return (
        f'<section><h2>{html.escape(title)}</h2><p class="note">{html.escape(note)}</p>'
        f'<div class="pair"><div class="chart">{chart}</div>{table(numbers)}</div></section>'
    )


def table(data: Rows) -> str:
    """Return the numbers of a section as an HTML table, sizes in binary units."""
    head = "".join(
        f'<th class="{"num" if is_size(c) else ""}">{html.escape(c)}</th>' for c in data.columns
    )
    body = "".join(
        "<tr>" + "".join(cell(c, v) for c, v in zip(data.columns, row, strict=True)) + "</tr>"
        for row in data.rows
    )
    empty = "" if data.rows else f'<tr><td colspan="{len(data.columns)}">(none)</td></tr>'
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}{empty}</tbody></table>"


def cell(column: str, value: Any) -> str:
    if is_size(column):
        return f'<td class="num" title="{value} bytes">{human_bytes(value)}</td>'
    if isinstance(value, datetime):
        return f"<td>{utc(value)}</td>"
    if isinstance(value, float):
        return f'<td class="num">{value:,.1f}</td>'
    if isinstance(value, int):
        return f'<td class="num">{value:,}</td>'
    return f"<td>{html.escape('' if value is None else str(value))}</td>"


def gib(values: list[Any]) -> list[float | None]:
    """Return byte counts in GiB for a chart axis (None stays a gap)."""
    return [None if v is None else int(v) / GIB for v in values]


def utc(moment: datetime | None) -> str:
    """Return a time as `YYYY-MM-DD HH:MM UTC`."""
    return "" if moment is None else f"{moment:%Y-%m-%d %H:%M} UTC"
