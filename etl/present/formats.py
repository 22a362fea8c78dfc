"""Rendering rows for people (table, markdown) and for scripts (json, csv).

Machine formats are stable: raw integers (sizes are never rounded), ISO-8601 UTC times, and
the column names of the views. Human formats show sizes as KiB/MiB/GiB.

Registry text (names, error messages) is data: what reaches a terminal shows control
characters escaped (`printable`), and a CSV cell never starts a spreadsheet formula.
"""

from __future__ import annotations

import base64
import csv
import errno
import io
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from rich.console import Console
from rich.table import Table
from rich.text import Text

from etl.errors import QueryError
from etl.present.text import printable, spreadsheet_safe
from etl.store.queries import Answer

SIZE_SUFFIXES = ("size", "bytes")


@dataclass(frozen=True, kw_only=True)
class Section(Answer):
    """One titled table of a report: a query's answer, named for JSON and CSV."""

    name: str
    title: str = ""


def human_bytes(size: int | None) -> str:
    """Return a size like 1.5 GiB (binary units)."""
    if size is None:
        return ""
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(value) < 1024:
            return f"{int(value)} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} EiB"


def is_size(column: str) -> bool:
    """Return True if a column holds bytes (by the views' naming: `…size`, `…bytes`)."""
    return column.endswith(SIZE_SUFFIXES)


def human_value(column: str, value: Any) -> str:
    """Return a cell as a person reads it."""
    if value is None:
        return ""
    if is_size(column) and isinstance(value, int):
        return human_bytes(value)
    if isinstance(value, float):
        return f"{value:.1f}"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, list):
        shown = ", ".join(printable(str(v)) for v in value[:3])
        return shown + (f" (+{len(value) - 3})" if len(value) > 3 else "")
    return printable(str(value))


def machine_value(value: Any) -> Any:
    """Return a cell as JSON/CSV carry it: ISO times, exact integers; whatever else `query`
    may answer in a form JSON holds: a BLOB as base64 (RFC 4648), a non-finite float as the
    string `NaN`, `Infinity` or `-Infinity`, an INTERVAL as an ISO-8601 duration, a UUID as
    text."""
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, list | tuple):
        return [machine_value(v) for v in value]
    if isinstance(value, dict):  # a STRUCT, or a MAP whose keys may be anything
        return {str(machine_value(k)): machine_value(v) for k, v in value.items()}
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, timedelta):
        return iso_duration(value)
    if isinstance(value, UUID):
        return str(value)
    return value


def iso_duration(span: timedelta) -> str:
    """Return an INTERVAL as an ISO-8601 duration in days and seconds: `P3DT7200S`."""
    sign, span = ("-", -span) if span < timedelta(0) else ("", span)
    fraction = f".{span.microseconds:06d}".rstrip("0") if span.microseconds else ""
    return f"{sign}P{span.days}DT{span.seconds}{fraction}S"


def render_table(section: Section, console: Console) -> None:
    """Print a section as a rich table."""
    if section.title:
        # Printed apart from the table: rich would wrap a title to a narrow table's width.
        console.print(section.title, style="bold", markup=False, highlight=False)
    table = Table(show_edge=False)
    for index, column in enumerate(section.columns):
        sample = next((row[index] for row in section.rows if row[index] is not None), None)
        numeric = isinstance(sample, int | float | Decimal) and not isinstance(sample, bool)
        table.add_column(column, justify="right" if numeric else "left", overflow="fold")
    for row in section.rows:
        # Text, not markup: a registry's "[link=…]" or "[bold]" is shown as it is.
        cells = (Text(human_value(c, v)) for c, v in zip(section.columns, row, strict=True))
        table.add_row(*cells)
    if not section.rows:
        table.caption = "(none)"
    console.print(table)


def render_markdown(section: Section) -> str:
    """Return a section as a GitHub-flavoured Markdown table under a heading."""
    lines = [f"### {section.title}", ""] if section.title else []
    lines.append("| " + " | ".join(section.columns) + " |")
    lines.append("|" + "|".join(" --- " for _ in section.columns) + "|")
    for row in section.rows:
        cells = (
            human_value(c, v).replace("|", "\\|") for c, v in zip(section.columns, row, strict=True)
        )
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def render_json(sections: Sequence[Section], extra: dict[str, Any] | None = None) -> str:
    """Return sections as one JSON object keyed by section name (big integers stay exact)."""
    body: dict[str, Any] = dict(extra or {})
    for section in sections:
        body[section.name] = [
            {k: machine_value(v) for k, v in record.items()} for record in section.records()
        ]
    return json.dumps(body, indent=2, ensure_ascii=False)


def refuse_repeated_columns(columns: list[str]) -> None:
    """Raise QueryError for an answer that names a column twice, which JSON cannot carry: an
    object keeps one value per name (CSV and the table show both columns)."""
    twice = sorted({c for c in columns if columns.count(c) > 1})
    if twice:
        raise QueryError(
            f"--format json needs a name per column, and the answer names {twice[0]!r} "
            f"{columns.count(twice[0])} times: give each column its own name with AS "
            "(SELECT 1 AS a, 2 AS b)"
        )


def render_csv(section: Section) -> str:
    """Return one section as CSV with a header row."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(section.columns)
    for row in section.rows:
        writer.writerow([_csv_cell(machine_value(v)) for v in row])
    return out.getvalue()


def render_tidy_csv(sections: Sequence[Section]) -> str:
    """Return several sections as one long CSV: section,row,field,value."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["section", "row", "field", "value"])
    for section in sections:
        for index, record in enumerate(section.records(), start=1):
            for field, value in record.items():
                writer.writerow([section.name, index, field, _csv_cell(machine_value(value))])
    return out.getvalue()


def _csv_cell(value: Any) -> Any:
    return spreadsheet_safe(json.dumps(value) if isinstance(value, list) else value)


class Printer(Console):
    """Rich's console, but a stdout closed by its reader (`| head`) is left to the command
    line, which ends every command the same way then (rich would exit 1: "targets failed")."""

    def on_broken_pipe(self) -> None:
        self.quiet = True
        raise BrokenPipeError(errno.EPIPE, "stdout was closed by its reader")


def print_sections(
    sections: Sequence[Section], fmt: str, extra: dict[str, Any] | None = None
) -> None:
    """Print sections in `fmt`: one place owns how reports look on the console."""
    console = Printer(soft_wrap=False)
    if not console.is_terminal:
        # Piped or captured output is read later, often wider than 80 columns: don't fold it.
        console = Printer(soft_wrap=False, width=max(console.width, 200))
    if fmt == "json":
        console.file.write(render_json(sections, extra) + "\n")
    elif fmt == "csv":
        text = render_csv(sections[0]) if len(sections) == 1 else render_tidy_csv(sections)
        console.file.write(text)
    elif fmt == "markdown":
        console.file.write("\n".join(render_markdown(s) for s in sections))
    else:
        for section in sections:
            render_table(section, console)
            console.print()
