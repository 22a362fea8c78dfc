"""Who writes a run: the writer's name (`output.writer`, or the config file's name) labels its
runs for people; its identity — a random id kept in a file beside its DuckDB database — tells
two writers apart even when two machines give their configs one name. It stays the same across
cron runs and container restarts as long as the database's folder does (a volume).

A writer whose folder was lost (a new volume, a container without one, a database rebuilt on a
new disk) finds its identity again in the lake: the one writer of its name whose repositories
lie on this config's endpoints (configs sharing a lake name their endpoints apart). So what its
config no longer selects still leaves `tags_current`, whatever happened to the database file."""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Callable
from pathlib import Path

from etl.store.files import replacing

log = logging.getLogger("etl.run.identity")

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


def writer_id(duckdb: Path, lost: Callable[[], list[str]] = list) -> str:
    """Return the identity of this database's writer and keep it beside the database (call it
    holding the output lock): the one kept there; else this writer's own, lost with its folder,
    if `lost` names exactly one candidate; else a new one. A damaged file is replaced."""
    known = known_writer_id(duckdb)
    if known is not None:
        return known
    candidates = lost()
    if len(candidates) == 1:
        made = candidates[0]
        log.info(
            "%s was missing: this writer takes back its identity %s from the lake",
            id_file(duckdb),
            made,
        )
    else:
        made = secrets.token_hex(8)
        if candidates:
            log.warning(
                "%s was missing and %d writers of this name synced this config's endpoints "
                "(%s): this writer starts as a new one; give each config its own output.writer",
                id_file(duckdb),
                len(candidates),
                ", ".join(candidates),
            )
    with replacing(id_file(duckdb)) as partial:
        partial.write_text(made + "\n", encoding="ascii")
    return made
