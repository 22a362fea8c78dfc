"""The dashboard's building blocks: a query's rows, one colour per measure, charts whose
legend sits above the plot, "top N of M" with an `other` bar, and the numbers beside each chart.

Nothing here computes a figure: every number comes from a named query in `sql/`; this
module only draws and formats it.
"""

from __future__ import annotations

import html
from datetime import UTC, datetime
from typing import Any

import duckdb

from etl.present.formats import human_bytes, is_size
from etl.present.text import printable
from etl.store.queries import Answer, ask

GIB = 2**30
# One colour per measure, on every chart (Okabe-Ito and Tableau hues, told apart in colour
# blindness where it matters most: unique vs total vs layers).
COLOURS = {
    "unique": "#0072B2",
    "total": "#E69F00",
    "layers": "#009E73",
    "reclaimable": "#D55E00",
    "freed": "#CC79A7",
    "tags": "#56B4E9",
    "since created": "#8C6D31",
    "since last push": "#393B79",
    "pulls": "#6A3D9A",
    "added": "#2CA02C",
    "removed": "#D62728",
    "retagged": "#9467BD",
    "repushed": "#17BECF",
    "modified": "#BCBD22",
    "untracked": "#7F7F7F",
    "ok": "#1B9E77",
    "not found": "#A6761D",
    "failed": "#E7298A",
}
OTHER = "other"
OTHER_DWARFS = 3


def rows_of(con: duckdb.DuckDBPyConnection, name: str, **params: object) -> Answer:
    """Return the answer of `sql/<name>.sql` given `params`, its text escaped for Plotly: Plotly
    draws labels as a subset of HTML, and registry text must show as text, never as a link or
    a style."""
    raw = ask(con, name, **params)
    return Answer(raw.columns, [tuple(as_text(v) for v in row) for row in raw.rows])


def as_text(value: Any) -> Any:
    """Return a cell as Plotly shows text literally: `<`, `>` and `&` as the entities Plotly
    decodes (it leaves `&quot;` undecoded, and quotes outside a tag are harmless)."""
    return html.escape(printable(value), quote=False) if isinstance(value, str) else value


# --- top N of M ---------------------------------------------------------------------------


def top_of(data: Answer, noun: str) -> str:
    """Return "top N of M <noun>" for a query whose last row may be `other` (its `members`
    column says how many it stands for)."""
    shown = len(data.rows) - has_other(data)
    total = sum(data.column("members"))
    return f"top {shown} of {total:,} {noun}"


def has_other(data: Answer) -> int:
    """1 if the last row is the `other` row, else 0 (no name of a registry's reads `other`:
    each carries its endpoint and a colon)."""
    return int(bool(data.rows) and data.rows[-1][0] == OTHER)


def labels(data: Answer, noun: str) -> list[str]:
    """Return the first column as chart labels, the `other` row as `other (N <noun>)`."""
    names = [str(v) for v in data.column(data.columns[0])]
    if has_other(data):
        names[-1] = f"{OTHER} ({data.rows[-1][1]:,} {noun})"
    return names


# --- charts -----------------------------------------------------------------------------------


def bar_chart(go: Any, names: list[str], measures: dict[str, list[Any]], unit: str) -> Any:
    """Return horizontal bars, largest first, one trace (and colour) per measure. When an
    `other` bar dwarfs the rest (more than OTHER_DWARFS times the largest), the axis is
    logarithmic and says so: the top N stay readable."""
    has_other_bar = bool(names) and names[-1].startswith(f"{OTHER} (")
    top = [v for column in measures.values() for v in column[:-1] if v]
    other = max((column[-1] or 0 for column in measures.values() if column), default=0)
    dwarfs = has_other_bar and bool(top) and other > OTHER_DWARFS * max(top)
    if dwarfs:
        unit += " (log scale)"
    fig = go.Figure(
        [
            go.Bar(
                name=measure,
                y=names[::-1],
                x=values[::-1],
                orientation="h",
                marker_color=COLOURS[measure],
            )
            for measure, values in measures.items()
        ]
    )
    fig.update_layout(barmode="group", xaxis_title=unit)
    if dwarfs:
        fig.update_xaxes(type="log")
    return fig


def column_chart(go: Any, names: list[str], measures: dict[str, list[Any]], unit: str) -> Any:
    """Return vertical bars over categories, one trace (and colour) per measure."""
    fig = go.Figure(
        [
            go.Bar(name=measure, x=names, y=values, marker_color=COLOURS[measure])
            for measure, values in measures.items()
        ]
    )
    fig.update_layout(yaxis_title=unit)
    fig.update_xaxes(type="category")  # run labels and buckets, never a number line
    return fig


def gib(values: list[Any]) -> list[float | None]:
    """Return byte counts in GiB for a chart axis (None stays a gap)."""
    return [None if v is None else int(v) / GIB for v in values]


def chart_html(fig: Any) -> str:
    """Return a chart's HTML; its legend, when it has one, sits above the plot and clear of
    both axes."""
    fig.update_layout(
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        height=380,
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "xanchor": "left", "x": 0},
    )
    fig.update_yaxes(automargin=True)
    fig.update_xaxes(automargin=True)
    return str(
        fig.to_html(include_plotlyjs=False, full_html=False, config={"displayModeBar": False})
    )


def section(title: str, note: str, fig: Any, *tables: str, extra: str = "") -> str:
    """Return one section: a chart with its numbers beside it."""
    return (
        f'<section><h2>{html.escape(title)}</h2><p class="note">{html.escape(note)}</p>'
        f'<div class="pair"><div class="chart">{chart_html(fig)}</div>'
        f'<div class="numbers">{"".join(tables)}{extra}</div></div></section>'
    )


# --- numbers ----------------------------------------------------------------------------------


def table(data: Answer, name: str, noun: str = "", hide: tuple[str, ...] = ()) -> str:
    """Return the numbers of a section as an HTML table (`data-table` names it for scripts
    and tests), sizes in binary units with the exact bytes in a tooltip. A top-N answer's
    `members` column is folded into its `other` row's label: `other (22 repositories)`;
    `hide` leaves out columns the section's title or note already says (a count of all)."""
    if hide:
        keep = [i for i, c in enumerate(data.columns) if c not in hide]
        data = Answer(
            [data.columns[i] for i in keep], [tuple(r[i] for i in keep) for r in data.rows]
        )
    if "members" in data.columns:
        index = data.columns.index("members")
        names = labels(data, noun)
        data = Answer(
            [c for c in data.columns if c != "members"],
            [(names[i], *row[1:index], *row[index + 1 :]) for i, row in enumerate(data.rows)],
        )
    head = "".join(
        f'<th class="{"num" if is_size(c) else ""}">{html.escape(c)}</th>' for c in data.columns
    )
    body = "".join(
        "<tr>" + "".join(cell(c, v) for c, v in zip(data.columns, row, strict=True)) + "</tr>"
        for row in data.rows
    )
    empty = "" if data.rows else f'<tr><td colspan="{len(data.columns)}">(none)</td></tr>'
    return (
        f'<table data-table="{name}"><thead><tr>{head}</tr></thead>'
        f"<tbody>{body}{empty}</tbody></table>"
    )


def fields(data: Answer, name: str) -> str:
    """Return a one-row answer as a two-column table of field and value."""
    row = data.first()
    body = "".join(f"<tr><th>{html.escape(k)}</th>{cell(k, v)}</tr>" for k, v in row.items())
    return f'<table data-table="{name}"><tbody>{body or "<tr><td>(none)</td></tr>"}</tbody></table>'


def cell(column: str, value: Any) -> str:
    """Return one table cell; the exact value rides along in `data-value` for scripts."""
    if value is None:
        return '<td data-value="">—</td>'
    if is_size(column):
        return (
            f'<td class="num" data-value="{value}" title="{value} bytes">{human_bytes(value)}</td>'
        )
    if isinstance(value, datetime):
        return f'<td data-value="{value.isoformat()}">{utc(value)}</td>'
    if isinstance(value, float):
        return f'<td class="num" data-value="{value!r}">{value:,.1f}</td>'
    if isinstance(value, int):
        return f'<td class="num" data-value="{value}">{value:,}</td>'
    # Answer hold text escaped for Plotly (`<`, `>`, `&`): HTML text already; in an attribute,
    # quotes too.
    return f'<td data-value="{str(value).replace(chr(34), "&quot;")}">{value}</td>'


def utc(moment: datetime | None) -> str:
    """Return a time as `YYYY-MM-DD HH:MM:SS UTC` (runs seconds apart stay apart)."""
    return "" if moment is None else f"{moment.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"
