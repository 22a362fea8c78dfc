"""Who writes a run: the writer's name (`output.writer`, or the config file's name) labels its
runs for people; its identity — a random id kept in a file beside its DuckDB database — tells
two writers apart even when two machines give their configs one name. It stays the same across
cron runs and container restarts as long as the database's folder does (a volume)."""

from __future__ import annotations

import re
import secrets
from pathlib import Path

from etl.store.files import replacing

ID_FORM = re.compile(r"[0-9a-f]{16}")


def id_file(duckdb: Path) -> Path:
    """Return the file that keeps the identity of the writer of the database at `duckdb`."""
    return duckdb.with_name(duckdb.name + ".writer-id")


def known_writer_id(duckdb: Path) -> str | None:
    """Return the identity kept beside the database, or None if there is none (yet)."""
    try:
        value = id_file(duckdb).read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return value if ID_FORM.fullmatch(value) else None


def writer_id(duckdb: Path) -> str:
    """Return the identity of this database's writer, making one on its first run (call it
    holding the output lock). A damaged file is replaced: the writer then starts afresh."""
    known = known_writer_id(duckdb)
    if known is not None:
        return known
    made = secrets.token_hex(8)
    path = id_file(duckdb)
    with replacing(path) as partial:
        partial.write_text(made + "\n", encoding="ascii")
    return made
