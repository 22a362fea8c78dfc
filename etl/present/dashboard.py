"""The dashboard: one self-contained HTML file — Plotly's script inlined, so it opens from
`file://` with no network — built only from the public views, through named queries in
`sql/`. No figure is computed here: the page and `swr-etl query` cannot disagree.

It opens with what to decide: the last run's health, then what could be deleted and what it
would free, then where the storage is, how it grows, how old it is, what changed and who pulls.

Plotly is an optional dependency (the `dashboard` extra): the sync never imports it unless
`output.dashboard` asks for the page.
"""

from __future__ import annotations

import html
from importlib import resources
from pathlib import Path
from string import Template
from typing import Any

import duckdb

from etl.errors import NEEDS_PLOTLY, UsageError
from etl.present.charts import (
    COLOURS,
    bar_chart,
    column_chart,
    fields,
    gib,
    labels,
    rows_of,
    section,
    table,
    top_of,
    utc,
)
from etl.present.defaults import STALE_DAYS
from etl.present.formats import human_bytes
from etl.store.files import replacing
from etl.store.queries import Answer


def chart_library() -> tuple[Any, str]:
    """Return Plotly's figure module and its script, or raise a one-line error saying how
    to install it."""
    try:
        import plotly.graph_objects as go
        import plotly.offline
    except ImportError:
        raise UsageError(NEEDS_PLOTLY) from None
    return go, plotly.offline.get_plotlyjs()


def render_dashboard(con: duckdb.DuckDBPyConnection) -> str:
    """Return the dashboard page for the warehouse behind `con`."""
    go, script = chart_library()
    totals, health = rows_of(con, "storage/headline"), rows_of(con, "runs/health")
    sections = [
        health_section(go, health, rows_of(con, "runs/recent"), rows_of(con, "runs/failures_top")),
        candidates_section(go, rows_of(con, "stale/candidates_top", days=STALE_DAYS), STALE_DAYS),
        reclaimable_section(go, rows_of(con, "stale/reclaimable")),
        retention_section(go, rows_of(con, "stale/retention")),
        storage_section(
            go, rows_of(con, "storage/namespaces_top"), "Storage by organization", "organizations"
        ),
        storage_section(
            go, rows_of(con, "storage/repositories_top"), "Top repositories", "repositories"
        ),
        growth_section(
            go,
            rows_of(con, "growth/per_run"),
            rows_of(con, "growth/windows"),
            rows_of(con, "growth/growers"),
        ),
        ages_section(go, rows_of(con, "tags/ages")),
        changes_section(go, rows_of(con, "changes/recent_runs"), rows_of(con, "changes/retagged")),
        pulls_section(go, rows_of(con, "pulls/activity_top")),
        largest_section(go, rows_of(con, "tags/largest_top"), rows_of(con, "tags/reused_images")),
    ]
    as_of = totals.first().get("as_of")
    page = Template((resources.files("etl.present") / "dashboard.html").read_text("utf-8"))
    return page.substitute(
        plotly=script,
        as_of=html.escape(utc(as_of) if as_of else "no run yet"),
        headline=headline(totals, health),
        sections="\n".join(sections),
    )


def write_dashboard(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """Write the dashboard to `path` atomically: a reader sees the old page or the new one."""
    text = render_dashboard(con)
    with replacing(path) as partial:
        partial.write_text(text, encoding="utf-8")


# --- the headline -----------------------------------------------------------------------------


def headline(totals: Answer, health: Answer) -> str:
    """Return the headline cards; each carries its exact value for scripts and tests. The last
    run's card counts its age in the reader's browser, so an old page says it is old."""
    values, run = totals.first(), health.first()
    cards = [
        card("repositories", "Repositories", f"{values.get('repositories') or 0:,}", values),
        card("tags", "Tags", f"{values.get('tags') or 0:,}", values),
        card("total_size", "Total size", human_bytes(values.get("total_size") or 0), values),
        card(
            "unique_size",
            "Unique size (each image once)",
            human_bytes(values.get("unique_size") or 0),
            values,
        ),
        card(
            "layer_bytes",
            f"Layer storage ({values.get('layered_images') or 0:,} of "
            f"{values.get('images') or 0:,} images' manifests)",
            human_bytes(values.get("layer_bytes")) or "—",
            values,
        ),
    ]
    if run:
        finished = run["finished_at"] or run["started_at"]
        cards.append(
            f'<div class="metric run-{html.escape(run["status"])}" data-metric="last_run_status" '
            f'data-value="{html.escape(run["status"])}"><div class="label">Last run</div>'
            f'<div class="value">{html.escape(run["status"])}</div><div class="label">'
            f'{html.escape(utc(finished))}, <span data-age-from="{finished.timestamp():.0f}">'
            "</span></div></div>"
        )
    return f'<div class="headline">{"".join(cards)}</div>'


def card(key: str, label: str, shown: str, values: dict[str, Any]) -> str:
    value = values.get(key)
    return (
        f'<div class="metric" data-metric="{key}" data-value="{"" if value is None else value}">'
        f'<div class="label">{html.escape(label)}</div><div class="value">{shown}</div></div>'
    )


# --- sections, in the order a reader decides -------------------------------------------------


def health_section(go: Any, health: Answer, runs: Answer, failures: Answer) -> str:
    status = {"ok": "ok", "not found": "not_found", "failed": "failed"}
    fig = column_chart(
        go, runs.column("run"), {k: runs.column(v) for k, v in status.items()}, "targets"
    )
    fig.update_layout(barmode="stack", xaxis_title="run (UTC · seq)")
    note = (
        f"The last run ({health.first().get('run', 'none')}) and the targets of the last "
        f"{len(runs.rows)} runs by status; below, what the API said of each failed target."
    )
    title = "Last run's health"
    if failures.rows:
        title += f" — failed targets: {top_of(failures, 'failed')}"
    return section(
        title, note, fig, fields(health, "health"), table(failures, "failures", "failed targets")
    )


def candidates_section(go: Any, data: Answer, days: int) -> str:
    """Return "What to delete": the cleanup candidates of tags not pushed for `days` days (the
    days `data` was asked for), and how to reproduce and apply them."""
    names = labels(data, "repositories")
    fig = bar_chart(
        go,
        names,
        {
            "reclaimable": gib(data.column("reclaimable_size")),
            "total": gib(data.column("candidate_size")),
        },
        "GiB",
    )
    note = (
        f"Tags not pushed for {days} days, per repository: deleting them frees "
        "`reclaimable` (each image once, none a fresher tag still uses) of their `total`."
    )
    reproduce = (
        '<p class="reproduce">The same figures: <code>swr-etl query -c config.yaml '
        f'"SELECT * FROM cleanup_candidates({days})"</code>; the tags themselves: '
        f'<code>"SELECT * FROM stale_tags({days})"</code>; other rules: '
        "<code>retention_preview(keep_last, keep_days)</code>. To delete them, after a review: "
        f"<code>swr-etl cleanup plan -c config.yaml --older-than {days}d --no-protect"
        "</code> writes the plan that frees exactly these reclaimable bytes (without "
        "<code>--no-protect</code> it also keeps every tag named <code>latest</code>), and "
        "<code>swr-etl cleanup apply</code> applies it.</p>"
    )
    title = f"What to delete — {top_of(data, 'repositories with candidates')}"
    return section(title, note, fig, table(data, "candidates", "repositories"), extra=reproduce)


def reclaimable_section(go: Any, data: Answer) -> str:
    days = [f"{d} days" for d in data.column("days")]
    fig = column_chart(go, days, {"reclaimable": gib(data.column("reclaimable_size"))}, "GiB")
    fig.update_layout(xaxis_title="not pushed for")
    note = "Deleting tags not pushed for so long frees this (each image once, none still used)."
    return section("Reclaimable by staleness", note, fig, table(data, "reclaimable"))


def retention_section(go: Any, data: Answer) -> str:
    fig = column_chart(go, data.column("rule"), {"freed": gib(data.column("freed_size"))}, "GiB")
    note = "What SWR retention rules would delete; tags of unknown age are kept."
    return section("Retention preview", note, fig, table(data, "retention"))


def storage_section(go: Any, data: Answer, title: str, noun: str) -> str:
    measures = {
        "unique": gib(data.column("unique_size")),
        "total": gib(data.column("total_size")),
        "layers": gib(data.column("layer_bytes")),
    }
    fig = bar_chart(go, labels(data, noun), measures, "GiB")
    note = (
        "Unique counts each image once; total counts every tag (the gap is sharing); layers "
        "count each layer once where manifests were collected (the real footprint)."
    )
    return section(f"{title} — {top_of(data, noun)}", note, fig, table(data, noun, noun))


def growth_section(go: Any, data: Answer, windows: Answer, growers: Answer) -> str:
    fig = go.Figure(
        [
            go.Scatter(
                name=measure,
                x=data.column("snapshot_at"),  # a time axis: runs minutes apart stay apart
                y=gib(data.column(f"{measure}_size")),
                text=data.column("run"),
                hovertemplate="%{text}<br>%{y:.2f} GiB",
                mode="lines+markers",
                line_color=COLOURS[measure],
                connectgaps=False,
            )
            for measure in ("total", "unique")
        ]
    )
    fig.update_layout(yaxis_title="GiB", xaxis_title="run (UTC)")
    note = (
        "Per run; a run in which a repository failed is a gap, never a drop. Beside it, the "
        "growth of the last 7 and 30 days and the repositories that grew most."
    )
    return section(
        "Growth over time",
        note,
        fig,
        table(windows, "growth_windows"),
        table(growers, "growers"),
    )


def ages_section(go: Any, data: Answer) -> str:
    fig = go.Figure()
    for measure, name in (("age", "since created"), ("staleness", "since last push")):
        picked = [row for row in data.rows if row[0] == measure]
        fig.add_trace(
            go.Bar(
                name=name,
                x=[r[1] for r in picked],
                y=[r[2] for r in picked],
                marker_color=COLOURS[name],
            )
        )
    fig.update_layout(barmode="group", yaxis_title="tags", xaxis_title="age")
    fig.update_xaxes(type="category")
    note = "Tags by time since creation and since the last push."
    return section("Age and staleness", note, fig, table(data, "ages"))


def changes_section(go: Any, data: Answer, retagged: Answer) -> str:
    runs = list(dict.fromkeys(data.column("run")))
    fig = go.Figure()
    for kind in ("added", "removed", "retagged", "repushed", "modified", "untracked"):
        counts = {r[1]: r[3] for r in data.rows if r[2] == kind}
        if counts:
            fig.add_trace(
                go.Bar(
                    name=kind,
                    x=runs,
                    y=[counts.get(run, 0) for run in runs],
                    marker_color=COLOURS[kind],
                )
            )
    fig.update_layout(barmode="stack", yaxis_title="tags", xaxis_title="run (UTC · seq)")
    fig.update_xaxes(type="category")
    shown = len(retagged.rows)
    total = retagged.first().get("retagged_in_all", 0)
    note = (
        f"Tags changed per run; beside them, the latest {shown} of {total:,} tags moved to "
        "another digest."
    )
    return section(
        "Changes per run", note, fig, table(retagged, "retagged", hide=("retagged_in_all",))
    )


def pulls_section(go: Any, data: Answer) -> str:
    fig = bar_chart(
        go, labels(data, "repositories"), {"pulls": data.column("pulls")}, "pulls observed"
    )
    note = (
        "From the repository list's pull counter, between syncs that saw each repository; a "
        "rate per day only where the syncs span at least a day."
        if data.rows
        else "No pull activity observed yet: it needs discovery and two syncs."
    )
    return section(
        f"Pull activity — {top_of(data, 'repositories')}",
        note,
        fig,
        table(data, "pulls", "repositories"),
    )


def largest_section(go: Any, data: Answer, reused: Answer) -> str:
    fig = bar_chart(go, labels(data, "tags"), {"total": gib(data.column("size"))}, "GiB")
    total = reused.first().get("reused_images", 0)
    note = (
        f"The largest tags; beside them, {len(reused.rows)} of the {total:,} images tagged "
        "more than once."
    )
    title = f"Largest tags — {top_of(data, 'tags')} — and reused images"
    return section(
        title,
        note,
        fig,
        table(data, "largest", "tags"),
        table(reused, "reused", hide=("reused_images",)),
    )
