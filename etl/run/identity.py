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

from etl.errors import StorageError, os_reason
from etl.store.files import replacing
from etl.textfiles import NotAFile, read_text

log = logging.getLogger("etl.run.identity")

ID_FORM = re.compile(r"[0-9a-f]{16}")
ID_LIMIT = 1024  # an id and its newline; more is not the file this tool writes


def id_file(duckdb: Path) -> Path:
    """Return the file that keeps the identity of the writer of the database at `duckdb`."""
    return duckdb.with_name(duckdb.name + ".writer-id")


def known_writer_id(duckdb: Path) -> str | None:
    """Return the identity kept beside the database, or None if there is none (yet) or what
    is there is not an identity (`writer_id` replaces it). The file is read as every small file
    an operator may touch (`etl.textfiles`): a FIFO or a folder there is StorageError, never a
    wait or a crash."""
    text = kept_text(id_file(duckdb))
    value = None if text is None else text.strip()
    return value if value is not None and ID_FORM.fullmatch(value) else None


def kept_text(path: Path) -> str | None:
    """Return the text of the identity file at `path`, None if there is none, or a damaged
    one's text as far as it reads (not ASCII, too long: the empty string)."""
    try:
        return read_text(path, ID_LIMIT)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise StorageError(f"cannot read the writer's identity {path}: {os_reason(exc)}") from None
    except NotAFile as exc:
        raise StorageError(f"cannot use the writer's identity {path}: it {exc}") from None
    except ValueError:
        return ""  # a regular file of garbage (binary, too long): replaced


def writer_id(duckdb: Path, lost: Callable[[], list[str]] = list) -> str:
    """Return the identity of this database's writer and keep it beside the database (call it
    holding the output lock): the one kept there; else this writer's own, lost with its folder,
    if `lost` names exactly one candidate; else a new one. A damaged file is replaced, and
    said to be."""
    path = id_file(duckdb)
    text = kept_text(path)
    if text is not None and ID_FORM.fullmatch(text.strip()):
        return text.strip()
    what = "was missing" if text is None else "held no writer id (damaged) and is replaced"
    candidates = lost()
    if len(candidates) == 1:
        made = candidates[0]
        log.info("%s %s: this writer takes back its identity %s from the lake", path, what, made)
    else:
        made = secrets.token_hex(8)
        if candidates:
            log.warning(
                "%s %s, and %d writers of this name synced this config's endpoints (%s): this "
                "writer starts as a new one; give each config its own output.writer",
                path,
                what,
                len(candidates),
                ", ".join(candidates),
            )
        elif text is not None:
            log.warning("%s %s: this writer starts as a new one, %s", path, what, made)
    keep(path, made)
    return made


def keep(path: Path, made: str) -> None:
    """Write the identity `made` to `path` atomically; StorageError naming it if the disk
    refuses (full, read-only)."""
    try:
        with replacing(path) as partial:
            partial.write_text(made + "\n", encoding="ascii")
    except OSError as exc:
        raise StorageError(f"cannot write the writer's identity {path}: {os_reason(exc)}") from None
