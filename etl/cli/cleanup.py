"""`swr-etl cleanup plan` and `swr-etl cleanup apply`: from what to delete to deleting it, with
a file a person reviews in between (`etl.cleanup_plan`), checks before every delete
(`etl.run.cleanup`) and a record of every attempt (`etl.store.cleanups`)."""

from __future__ import annotations

import signal
import stat
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

from etl.cli.errors import OneLineErrors
from etl.cli.options import config_option, format_option
from etl.cli.thin import duration
from etl.textfiles import KINDS

if TYPE_CHECKING:
    from etl.cleanup_plan import Applied, Attempt, CleanupPlan
    from etl.config import Config


@click.group(cls=OneLineErrors)
def cleanup() -> None:
    """Remove stale tags from SWR: compute a plan, review it, apply it; every delete is
    recorded (query `cleanup_history`)."""


def note(text: str) -> None:
    """Say something beside the answer (stderr: stdout stays the table, JSON or CSV)."""
    from etl.present.text import printable

    click.echo(printable(text), err=True)


@cleanup.command("plan")
@config_option
@click.option(
    "--older-than",
    required=True,
    help="Plan the tags not pushed for this long: `365d`, `12h` (as of each repository's "
    "latest sync).",
)
@click.option(
    "--keep-last",
    type=click.IntRange(min=1),
    help="Keep the newest N tags of each repository, however old.",
)
@click.option(
    "--protect",
    multiple=True,
    help="Also keep tags whose name matches this glob (*, ?, [...]), besides `latest`; repeat "
    "for more.",
)
@click.option(
    "--no-protect",
    is_flag=True,
    help="Do not keep `latest` by its name (only the --protect globs given, if any).",
)
@click.option(
    "--out",
    "out_path",
    metavar="FILE",
    callback=lambda ctx, param, value: plan_destination(value),
    help="Where to write the plan, a new or regular file in an existing folder [default: "
    "./cleanup-plan-<id>.json].",
)
@format_option
def plan(
    config_path: Path,
    older_than: str,
    keep_last: int | None,
    protect: tuple[str, ...],
    no_protect: bool,
    out_path: Path | None,
    fmt: str,
) -> None:
    """Write a cleanup plan from the warehouse's latest run: the tags not pushed for
    --older-than, less the newest --keep-last of each repository, `latest` and those --protect
    names, and any whose image a tag that stays still uses (SWR deletes an image with all its
    tags) or a tag outside the registry's tag grammar names.

    Prints what it deletes per repository; writes nothing to SWR. Review the file, then
    `swr-etl cleanup apply`.
    """
    from pydantic import ValidationError

    from etl.cleanup_plan import PlanRule, config_stamp, problem
    from etl.config_file import load_config
    from etl.errors import UsageError
    from etl.run.start import new_run_id
    from etl.store.cleanups import compute_plan
    from etl.store.warehouse import reading

    seconds = positive_seconds(older_than, "--older-than")
    config = load_config(config_path, secrets_needed=False, lake_secrets_needed=False)
    stamp = config_stamp(endpoints_of(config))
    try:
        rule = PlanRule(
            older_than=older_than,
            older_than_days=seconds / 86400,
            keep_last=keep_last,
            protect=tuple(dict.fromkeys([*([] if no_protect else DEFAULT_PROTECT), *protect])),
        )
    except ValidationError as exc:  # a glob of a control character, or far too long
        raise UsageError(f"cannot plan under this rule: {problem(exc)}") from None
    now = datetime.now(UTC)
    out = config.output
    with reading(out.duckdb, out.readonly_copy, note) as con:
        made = compute_plan(con, new_run_id(now), rule, stamp, now)
    target = out_path or Path(f"cleanup-plan-{made.id}.json")
    write_plan(made, target)
    print_plan(made, fmt, target)
    note(
        f"wrote plan {made.id} to {target}: review it, then `swr-etl cleanup apply -c "
        f"{config_path} {target}` shows what it would do, and with --yes deletes"
    )


# Kept by its name unless --no-protect: the tag people pull without naming one.
DEFAULT_PROTECT = ("latest",)


def plan_destination(value: str | None) -> Path | None:
    """Return where `--out` writes the plan: the path given, or the regular file a symbolic
    link names; refuse (exit 2) an empty one, one that exists and is not a regular file (a
    device, a FIFO, a folder) and one whose folder does not exist."""
    if value is None:
        return None
    if not value:
        raise click.BadParameter("is empty: name the plan's file", param_hint="--out")
    path = Path(value)
    try:
        found = path.stat()  # through a symbolic link
    except FileNotFoundError:
        if path.is_symlink():
            raise click.BadParameter(f"{value} is a symbolic link to nothing") from None
        if not path.parent.is_dir():
            raise click.BadParameter(f"its folder {path.parent} does not exist") from None
        return path
    except OSError as exc:
        raise click.BadParameter(f"{value}: {exc.strerror or exc}") from None
    if not stat.S_ISREG(found.st_mode):
        kind = KINDS.get(stat.S_IFMT(found.st_mode), "not a file")
        raise click.BadParameter(f"{value} is {kind}, not a regular file")
    return path.resolve() if path.is_symlink() else path


def write_plan(made: CleanupPlan, target: Path) -> None:
    """Write the plan whole beside `target` and rename it into place, once the text is one
    `cleanup apply` reads back (a plan the warehouse makes that apply would refuse is said
    now, not after a review); raise UsageError if it cannot be written."""
    from pydantic import ValidationError

    from etl.cleanup_plan import CleanupPlan, problem
    from etl.errors import UsageError
    from etl.store.files import replacing

    text = made.to_json()
    try:
        CleanupPlan.model_validate_json(text)
    except ValidationError as exc:
        raise UsageError(
            f"the plan computed from the warehouse is not one `cleanup apply` accepts: "
            f"{problem(exc)}"
        ) from None
    destination = plan_destination(str(target)) or target  # again: it may have changed
    try:
        with replacing(destination) as partial:
            partial.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write the plan to {target}: {exc.strerror or exc}") from None


def positive_seconds(text: str, option: str) -> float:
    """Return the seconds of a duration option that must be more than 0 and name its unit
    (a bare `365` would be seconds: every tag older than six minutes)."""
    from etl.config_values import seconds_of

    if text.strip()[-1:].isdigit():
        raise click.BadParameter(f"{text!r} has no unit: say 365d, 12h or 90m", param_hint=option)
    try:
        seconds = seconds_of(text)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint=option) from None
    if seconds <= 0:
        raise click.BadParameter("must be more than 0", param_hint=option)
    return seconds


def endpoints_of(config: Config) -> list[tuple[str, str]]:
    """Return the (name, URL) of each endpoint: what a plan's config stamp is made of."""
    if not config.endpoints:
        from etl.errors import ConfigError

        raise ConfigError(
            "none given: cleanup needs the endpoints to delete from",
            file=str(config.source),
            key="endpoints",
        )
    return [(e.name, e.url) for e in config.endpoints]


def print_plan(made: CleanupPlan, fmt: str, path: Path | None = None) -> None:
    """Print a plan's summary per repository, headed by what it is and what it frees."""
    from etl.present.formats import Section, human_bytes, print_sections
    from etl.store.cleanups import plan_summary

    found = plan_summary(made.tags)
    frees = int(sum(found.column("freed_size")))  # computed: each image once, not the file's
    rule = made.rule
    kept = f", the newest {rule.keep_last} of each repository kept" if rule.keep_last else ""
    guarded = f", tags matching {', '.join(rule.protect)} kept" if rule.protect else ""
    title = (
        f"plan {made.id}: {len(made.tags)} tag(s) in {len(found.rows)} repositories, not pushed "
        f"for {rule.older_than}{kept}{guarded}; deleting them frees {human_bytes(frees)} "
        f"(run {made.run.run_id}, #{made.run.seq})"
    )
    extra: dict[str, Any] = {
        "plan": made.model_dump(mode="json", exclude={"tags"})
        | {"frees": frees, "file": str(path or "")}
    }
    print_sections(
        [Section(found.columns, found.rows, name="repositories", title=title)], fmt, extra
    )


@cleanup.command("apply")
@config_option
@click.argument("plan_path", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--yes", is_flag=True, help="Delete. Without it: a dry run that sends nothing.")
@click.option(
    "--max-age",
    callback=duration,
    default="24h",
    show_default=True,
    help="Refuse a plan computed longer ago than this.",
)
@click.option(
    "--max-deletions",
    type=click.IntRange(min=1),
    default=100,
    show_default=True,
    help="Refuse a plan of more tags than this.",
)
@format_option
def apply(
    config_path: Path, plan_path: Path, yes: bool, max_age: float, max_deletions: int, fmt: str
) -> None:
    """Apply a cleanup plan: delete its tags from SWR, each only if SWR lists it, moments
    before, as the plan saw it (same digest, same push time), the plan's own rule would still
    delete it, and no tag that stays names its image; otherwise it is skipped, and kept. Each
    delete is confirmed by reading the repository's list again.

    Refuses (exit 2, nothing sent) a plan older than --max-age, computed for another config,
    or of more than --max-deletions tags. Exit 0 when every planned tag is gone (deleted, or
    already gone), 5 when one was skipped or failed; every attempt is recorded in the lake
    and DuckDB (`cleanup_history`). Exit 75 while a sync runs; 130/143 on SIGINT/SIGTERM,
    after recording what was attempted.
    """
    from etl.errors import Interrupted

    for signum in (signal.SIGINT, signal.SIGTERM):  # before the slow imports: one line, always
        signal.signal(signum, stop_apply)
    from etl.cleanup_plan import config_stamp, read_plan
    from etl.config_file import load_config
    from etl.run.cleanup import Limits, check_plan

    config = load_config(config_path, secrets_needed=yes, lake_secrets_needed=yes)
    stamp = config_stamp(endpoints_of(config))
    planned = read_plan(plan_path)
    check_plan(planned, stamp, Limits(max_age, max_deletions), datetime.now(UTC))
    if not yes:
        print_plan(planned, fmt, plan_path)
        note_rule_refusals(planned)
        note(
            f"dry run: nothing was deleted and no request was sent; to delete: swr-etl "
            f"cleanup apply -c {config_path} {plan_path} --yes"
        )
        return
    if not planned.tags:
        note(f"plan {planned.id} deletes nothing: nothing to do")
        return
    applied = apply_with_lock(config, planned)
    try:
        print_applied(planned, applied, fmt)
    except Interrupted as exc:  # the apply is done: say where it is recorded
        state = f"{len(applied.attempts)} attempted delete(s) recorded in {applied.recorded}"
        raise Interrupted(exc.signum, state) from None
    sys.exit(applied.exit_code)


def stop_apply(signum: int, frame: object) -> NoReturn:
    """Turn SIGINT/SIGTERM outside the deletes into Interrupted (the deletes note a signal,
    record what they attempted, then raise it saying where)."""
    from etl.errors import Interrupted

    raise Interrupted(signum, "no DELETE was sent, or every one sent is recorded (cleanup_history)")


def note_rule_refusals(planned: CleanupPlan) -> None:
    """Say which tags of a plan its own rule keeps (a hand-edited plan): apply skips them."""
    for tag in planned.tags:
        why = planned.rule.keeps(tag, planned.computed_at)
        if why is not None:
            note(f"would be {SHOWN['refused']} {tag}: {why}")


def apply_with_lock(config: Config, planned: CleanupPlan) -> Applied:
    """Apply a plan holding the output lock, with every endpoint's credentials."""
    from etl.present.progress import setup_logging
    from etl.run.cleanup import Recording, applier, apply_plan
    from etl.run.endpoints import auths_for
    from etl.run.start import output_lock
    from etl.store.storage import store_for

    setup_logging()
    out = config.output
    store = store_for(out)
    store.check_lake("output.lake", str(config.source))
    recording = Recording(store, out.duckdb, out.readonly_copy, applier(config.writer))
    with output_lock(out):
        auths = auths_for(config.endpoints, config.crawl.timeout_s, str(config.source))
        return apply_plan(
            planned, config.endpoints, config.crawl, auths, recording, on_attempt=show_attempt
        )


SHOWN = {
    "deleted": "deleted",
    "gone": "already gone",
    "changed": "skipped (changed since the plan)",
    "refused": "skipped (the plan's own rule keeps it)",
    "failed": "FAILED",
}


def show_attempt(done: Attempt) -> None:
    """Say what happened to one planned tag, as it happens."""
    detail = f": {done.detail}" if done.detail else ""
    note(f"{SHOWN[done.result]} {done.tag}{detail}")


def print_applied(planned: CleanupPlan, applied: Applied, fmt: str) -> None:
    """Print what an apply did per repository, headed by its counts and where it is recorded."""
    from etl.present.formats import Section, human_bytes, print_sections
    from etl.store.cleanups import outcome_summary

    found = outcome_summary(applied.attempts)
    counts = {kind: sum(found.column(kind)) for kind in SHOWN}
    freed = sum(found.column("freed_size"))
    where = "the lake and DuckDB" if applied.loaded else "the lake (DuckDB: at the next sync)"
    title = (
        f"applied plan {planned.id} ({applied.apply_id}): {counts['deleted']} deleted, "
        f"{counts['gone']} already gone, {counts['changed']} changed since the plan (kept), "
        f"{counts['refused']} kept by the plan's own rule, {counts['failed']} failed; frees "
        f"{human_bytes(freed)}; recorded in {where}: "
        f"{applied.recorded}"
    )
    extra = {"apply": {"apply_id": applied.apply_id, "plan_id": planned.id, **counts}}
    print_sections(
        [Section(found.columns, found.rows, name="repositories", title=title)], fmt, extra
    )
