"""The documentation's reference pages, written from their one source: the commands from the
click group's own help, the configuration keys from the models in `etl/config.py`, the DuckDB
tables, views and macros from the catalog of a fresh database (made with the project's own
schema) and the headers of the SQL files that define them, and every SQL file from `sql/`.

    python -m tests.docs_reference           writes docs/reference/*.md (`make docs` runs it)
    python -m tests.docs_reference --check   exit 1 naming each page that is not what it writes

`tests/test_docs.py` fails when a committed page is stale. Nothing here is written by hand: a
new command, key, view, macro or SQL file appears in the pages by itself.
"""

from __future__ import annotations

import re
import sys
import tempfile
import types
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin

import annotated_types
import click
import duckdb
from click.testing import CliRunner
from pydantic import BaseModel, SecretStr
from pydantic.fields import FieldInfo

from etl.cli import cli
from etl.config import Config
from etl.config_file import SECRET_FILE_KEYS
from etl.config_values import S3Location
from etl.store import queries, warehouse

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "docs" / "reference"
HELP_WIDTH = 80  # the help as an 80-column terminal shows it, wherever the pages are written


def notice(source: str) -> str:
    """Return the line every generated page opens with, naming its source."""
    return (
        f"<!-- Written by `python -m tests.docs_reference` from {source}. Do not edit: "
        "`make docs` rewrites it, and tests/test_docs.py fails when it is stale. -->"
    )


# --- commands -------------------------------------------------------------------------------


def command_paths(
    command: click.Command, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    """Yield every command and subcommand with its path of names, groups before their own."""
    yield path, command
    if isinstance(command, click.Group):
        with click.Context(command) as ctx:
            names = command.list_commands(ctx)
        for name in names:
            sub = command.get_command(ctx, name)
            if sub is not None and not sub.hidden:
                yield from command_paths(sub, (*path, name))


def help_text(path: tuple[str, ...]) -> str:
    """Return `swr-etl PATH --help` as an 80-column terminal shows it."""
    result = CliRunner().invoke(
        cli, [*path, "--help"], prog_name="swr-etl", terminal_width=HELP_WIDTH
    )
    assert result.exit_code == 0, result.output
    return result.output.rstrip()


def commands_page() -> str:
    """Return the command reference: every command's `--help`, as the command prints it."""
    parts = [
        "# Commands",
        "",
        notice("the click commands' help (`etl/cli/`)"),
        "",
        "Every command and its options, as `swr-etl COMMAND --help` prints them. Exit codes are "
        "listed in [Running in production](../production.md#exit-codes).",
    ]
    for path, _ in command_paths(cli):
        parts += ["", f"## `{' '.join(('swr-etl', *path))}`", "", "```text", help_text(path), "```"]
    return "\n".join(parts) + "\n"


# --- configuration --------------------------------------------------------------------------

TYPE_NAMES: dict[Any, str] = {
    str: "string",
    int: "integer",
    float: "number",
    bool: "boolean",
    Path: "path",
    SecretStr: "secret",
    S3Location: "`s3://bucket/prefix`",
}


@dataclass(frozen=True)
class Section:
    """A mapping of the config file: where it sits (`endpoints[].auth`), its model, and, for one
    of several shapes of the same key, what tells it apart (`type: token`)."""

    path: str
    model: type[BaseModel]
    variant: str = ""

    @property
    def title(self) -> str:
        where = f"`{self.path}`" if self.path else "The top level"
        return f"{where} ({self.variant})" if self.variant else where


def models_in(annotation: Any) -> tuple[list[type[BaseModel]], bool]:
    """Return the models a key's value may be, and whether it is a list of them."""
    if get_origin(annotation) is list:
        return models_in(get_args(annotation)[0])[0], True
    if get_origin(annotation) in (Union, types.UnionType):
        found = [m for arg in get_args(annotation) for m in models_in(arg)[0]]
        return found, False
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation], False
    return [], False


def keys(field: FieldInfo) -> bool:
    """True for a field that is a key of the file (not one the reader sets, such as `source`)."""
    return not field.exclude


def sections(model: type[BaseModel], path: str = "", variant: str = "") -> Iterator[Section]:
    """Yield every mapping of the config, each before the mappings inside it."""
    yield Section(path, model, variant)
    for name, field in model.model_fields.items():
        found, listed = models_in(field.annotation)
        inner = f"{path}.{name}".lstrip(".") + ("[]" if listed else "")
        for sub in found:
            shape = sub.model_fields.get("type")
            tag = f"type: {get_args(shape.annotation)[0]}" if len(found) > 1 and shape else ""
            if keys(field):
                yield from sections(sub, inner, tag)


def type_text(annotation: Any) -> str:
    """Return a key's type as the reference shows it: `integer`, `` `auto` or `v3` ``."""
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Literal:
        return " or ".join(f"`{a}`" for a in args)
    if origin in (Union, types.UnionType):
        kinds = dict.fromkeys(type_text(a) for a in args if a is not type(None))
        return " or ".join(kinds)
    if origin is list:
        return f"list of {type_text(args[0])}"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "mapping"
    return TYPE_NAMES[annotation]


BOUNDS = {
    "ge": annotated_types.Ge,
    "gt": annotated_types.Gt,
    "le": annotated_types.Le,
    "lt": annotated_types.Lt,
    "min_length": annotated_types.MinLen,
}


def bounds_text(field: FieldInfo) -> str:
    """Return a key's bounds (`1–1024`, `> 0`, `at least 1`), read from its constraints."""
    found: dict[str, Any] = {}
    for item in field.metadata:
        for name, kind in BOUNDS.items():
            if isinstance(item, kind):
                found[name] = getattr(item, name)
    if "ge" in found and "le" in found:
        return f"{number(found['ge'])}–{number(found['le'])}"
    signs = {"ge": "≥", "gt": ">", "le": "≤", "lt": "<", "min_length": "at least"}
    unit = {"min_length": " item" if get_origin(field.annotation) is list else " character"}
    return ", ".join(f"{signs[k]} {number(v)}{unit.get(k, '')}" for k, v in found.items())


def number(value: Any) -> str:
    """Return a number as a config file would hold it: `30`, not `30.0`."""
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def unit_text(value: float, unit: str) -> str:
    """Return a value in seconds or bytes in a person's unit: `6h`, `64 MiB`."""
    if unit == "seconds":
        steps = [("d", 86400), ("h", 3600), ("m", 60), ("s", 1)]
        return next(f"{number(value / n)}{u}" for u, n in steps if value >= n and value % n == 0)
    steps = [("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10), ("bytes", 1)]
    return next(f"{number(value / n)} {u}" for u, n in steps if value >= n and value % n == 0)


def default_text(field: FieldInfo) -> str:
    """Return a key's default as a config file would write it, or `required`."""
    if field.is_required():
        return "required"
    value = field.get_default(call_default_factory=True)
    if isinstance(value, BaseModel):
        return "(its keys' defaults)"
    if value is None:
        return "none"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, list):
        return f"`{value}`"
    unit = extra(field).get("unit")
    if extra(field).get("duration"):
        return f"`{unit_text(value, 'seconds')}`" if value else "`0`"
    if isinstance(unit, str) and value:
        return f"`{number(value)}` ({unit_text(value, unit)})"
    return f"`{number(value)}`"


def extra(field: FieldInfo) -> dict[str, Any]:
    """Return what a key's `json_schema_extra` says of how to show it (`unit`, `duration`)."""
    return field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}


def one_line(text: str | None) -> str:
    """Return a docstring as one table cell: its lines joined, `|` escaped."""
    return " ".join((text or "").split()).replace("|", "\\|")


def key_rows(section: Section) -> Iterator[str]:
    """Yield the table rows of a section's keys, each secret's `KEY_file` after it."""
    secret_files = SECRET_FILE_KEYS.get(section.path.rsplit(".", 1)[-1].rstrip("[]"), ())
    for name, field in section.model.model_fields.items():
        if not keys(field):
            continue
        kind = type_text(field.annotation)
        if extra(field).get("duration"):
            kind = "duration (`90s`, `30m`, `6h`, `2d` or seconds)"
        bounds = bounds_text(field)
        kind = f"{kind}, {bounds}" if bounds else kind
        cell = one_line(field.description)
        yield f"| `{name}` | {kind} | {default_text(field)} | {cell} |"
        if name in secret_files:
            yield (
                f"| `{name}_file` | path | none | `{name}`, read from this file instead when the "
                "config is loaded (a Kubernetes or Vault secret mount; surrounding whitespace "
                f"dropped); give `{name}` or `{name}_file`. |"
            )


def configuration_page() -> str:
    """Return the configuration reference: every key of every mapping, with its type, default
    and description, from the config models."""
    parts = [
        "# Configuration keys",
        "",
        notice("the config models' docstrings (`etl/config.py`)"),
        "",
        "Every key a config file may hold. Unknown keys are errors; `${VAR}` and "
        "`${VAR:-default}` are expanded from the environment; relative paths are relative to "
        "the config file. [Configuration](../configuration.md) explains how the keys work "
        "together, with examples.",
    ]
    for section in sections(Config):
        parts += ["", f"## {section.title}", "", one_line(section.model.__doc__), ""]
        parts += ["| key | type | default | description |", "| --- | --- | --- | --- |"]
        parts += list(key_rows(section))
    return "\n".join(parts) + "\n"


# --- the DuckDB catalog and the SQL files ---------------------------------------------------

CREATES = re.compile(
    r"^CREATE (?:OR REPLACE )?(?:TABLE|VIEW|MACRO)(?: IF NOT EXISTS)? (\w+)", re.I | re.M
)
# Made by the code rather than a file: named here so the page can say what it is.
MADE_BY_CODE = {
    warehouse.DIGEST_MACRO: "Which version's schema, macros and views the database holds, as a "
    "digest of their text: a read-write open applies this version's only when it answers "
    "otherwise. Created by `etl/store/warehouse.py`, not by a file.",
}


def sql_files() -> dict[str, str]:
    """Return every file under `sql/` (`views/tags_current`) with its text, sorted by name."""
    root = queries.sql_dir()
    return {
        path.relative_to(root).with_suffix("").as_posix(): path.read_text(encoding="utf-8")
        for path in sorted(root.rglob("*.sql"))
    }


def comment_block(lines: list[str], end: int) -> tuple[int, str]:
    """Return where the `--` lines just above line `end` start, and their text."""
    start = end
    while start > 0 and lines[start - 1].startswith("--"):
        start -= 1
    return start, " ".join(line.removeprefix("--").strip() for line in lines[start:end])


def definitions() -> dict[str, tuple[str, str]]:
    """Return each table, view and macro the SQL files create, with its file and description:
    a file's header describes what the file is named for; anything else it creates, the
    comment just above its CREATE."""
    found: dict[str, tuple[str, str]] = {}
    for name, text in sql_files().items():
        lines = text.splitlines()
        for match in CREATES.finditer(text):
            created = match.group(1).lower()
            start, above = comment_block(lines, text.count("\n", 0, match.start()))
            if created == name.rsplit("/", 1)[-1]:
                above = header(lines)
            elif start == 0:  # the file's header, which is about what the file is named for
                above = ""
            found.setdefault(created, (name, above))
    return found


def header(lines: list[str]) -> str:
    """Return the `--` lines a file opens with: what it answers."""
    return comment_block(lines, next(i for i, x in enumerate(lines) if x[:2] != "--"))[1]


@dataclass(frozen=True)
class Relation:
    """A table, view or macro of the catalog, with what the page says of it."""

    kind: str  # table, view, table_macro, macro
    name: str
    parameters: list[str]
    columns: list[tuple[str, str]]


def catalog(con: Any) -> list[Relation]:
    """Return every table, view and macro of a fresh warehouse, with its columns."""
    found: list[Relation] = []
    for kind, query in (
        ("table", "SELECT table_name FROM duckdb_tables() WHERE NOT internal"),
        ("view", "SELECT view_name FROM duckdb_views() WHERE NOT internal"),
    ):
        for (name,) in con.execute(query + " ORDER BY 1").fetchall():
            columns = con.execute(
                "SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = $t "
                "ORDER BY column_index",
                {"t": name},
            ).fetchall()
            found.append(Relation(kind, name, [], columns))
    for name, kind, parameters in con.execute(
        "SELECT function_name, function_type, parameters FROM duckdb_functions() "
        "WHERE macro_definition IS NOT NULL AND NOT internal ORDER BY 1"
    ).fetchall():
        columns = []
        if kind == "table_macro":  # any argument will do: DESCRIBE only binds the query
            columns = macro_columns(con, name, parameters)
        found.append(Relation(kind, name, list(parameters), columns))
    return found


def macro_columns(con: Any, name: str, parameters: list[str]) -> list[tuple[str, str]]:
    """Return a table macro's columns, bound with any argument; none for one whose arguments
    name the relations it reads (its columns are theirs: `listing_changes`)."""
    args = ", ".join("1" for _ in parameters)
    try:
        described = con.execute(f"DESCRIBE SELECT * FROM {name}({args})").fetchall()
    except duckdb.BinderException:
        return []
    return [(row[0], row[1]) for row in described]


def fresh_catalog() -> list[Relation]:
    """Return the catalog of a database made by `warehouse.connect` in a temporary folder."""
    with tempfile.TemporaryDirectory() as folder:
        with warehouse.connect(Path(folder) / "reference.duckdb") as con:
            return catalog(con)


KINDS = {
    "table": ("Tables", "What the loads write; the views read them."),
    "view": ("Views", "Ask them with `swr-etl query`; a BI tool reads them."),
    "table_macro": (
        "Table macros",
        "Views with parameters: `SELECT * FROM stale_tags(365)`.",
    ),
    "macro": ("Macros", "Scalar macros: one rule each, which the views and queries call."),
}


def relation_entry(relation: Relation, described: dict[str, tuple[str, str]]) -> list[str]:
    """Return one table's, view's or macro's entry: description, file, columns."""
    file, text = described.get(relation.name, ("", ""))
    text = MADE_BY_CODE.get(relation.name, text) or "**Not described**: give it a `--` comment."
    call = f"({', '.join(relation.parameters)})" if relation.kind.endswith("macro") else ""
    lines = ["", f"### `{relation.name}{call}`", "", text]
    if file:
        lines += ["", f"Defined in `sql/{file}.sql`."]
    if relation.columns:
        lines += ["", "| column | type |", "| --- | --- |"]
        lines += [f"| `{column}` | `{kind}` |" for column, kind in relation.columns]
    return lines


def sql_page() -> str:
    """Return the database reference: every table, view and macro of the catalog."""
    described = definitions()
    relations = fresh_catalog()
    parts = [
        "# Tables, views and macros",
        "",
        notice("DuckDB's catalog of a fresh database and the SQL files' headers (`sql/`)"),
        "",
        "Every table, view and macro of the DuckDB database, with its columns and types as "
        "DuckDB reports them. [The DuckDB database](../database.md) and "
        "[Analytics views](../views.md) explain them with examples.",
    ]
    for kind, (title, intro) in KINDS.items():
        parts += ["", f"## {title}", "", intro]
        for relation in (r for r in relations if r.kind == kind):
            parts += relation_entry(relation, described)
    return "\n".join(parts) + "\n"


def sql_files_page() -> str:
    """Return every SQL file, by folder, with the header that says what it answers."""
    parts = [
        "# SQL files",
        "",
        notice("the headers of the files under `sql/`"),
        "",
        "Every query the code runs is a file under `sql/` whose first lines say what it answers; "
        "the code loads it by name (`queries.sql(name)`, `ask(con, name, ...)`).",
    ]
    folder = None
    for name, text in sql_files().items():
        here = name.rsplit("/", 1)[0] if "/" in name else ""
        if here != folder:
            folder = here
            parts += ["", f"## `sql/{here}/`" if here else "## `sql/`", ""]
            parts += ["| file | what it answers |", "| --- | --- |"]
        opening = one_line(header(text.splitlines()))
        parts.append(f"| `{name.rsplit('/', 1)[-1]}.sql` | {opening} |")
    return "\n".join(parts) + "\n"


# --- the pages ------------------------------------------------------------------------------


def pages() -> dict[str, str]:
    """Return every reference page (a name in docs/reference/) with the text it should hold."""
    return {
        "commands.md": commands_page(),
        "configuration.md": configuration_page(),
        "sql.md": sql_page(),
        "sql-files.md": sql_files_page(),
    }


def main(argv: list[str]) -> int:
    """Write the pages, or with `--check` name those that differ; return the exit status."""
    check = "--check" in argv
    stale = []
    for name, text in pages().items():
        path = REFERENCE / name
        if path.exists() and path.read_text(encoding="utf-8") == text:
            continue
        stale.append(name)
        if not check:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    for name in stale:
        verb = "is stale: run `make docs`" if check else "written"
        print(f"docs/reference/{name} {verb}")
    return 1 if check and stale else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
