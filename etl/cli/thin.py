"""`swr-etl thin`: keep a lake's size bounded over years (etl.store.thinning)."""

from __future__ import annotations

from pathlib import Path

import click

from etl.cli.options import config_option

LONGEST_S = 36_500 * 86_400.0  # a century: no run is older, and dates beyond it overflow


def duration(ctx: click.Context, param: click.Parameter, value: str | None) -> float | None:
    """Return the seconds of a duration option such as `90`, `30m`, `6h` or `30d`."""
    from etl.config_values import seconds_of

    if value is None:
        return None
    try:
        seconds = seconds_of(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), ctx, param) from None
    if seconds > LONGEST_S:
        raise click.BadParameter(f"{value!r} is more than a century", ctx, param)
    return seconds


@click.command()
@config_option
@click.option(
    "--older-than",
    callback=duration,
    default="30d",
    show_default=True,
    help="Thin the runs started longer ago than this.",
)
@click.option(
    "--keep-whole-every",
    callback=duration,
    default="30d",
    show_default=True,
    help="Keep the first run with whole listings of each such period (UTC).",
)
@click.option(
    "--grace",
    callback=duration,
    default=None,
    help="Delete replaced files once this has passed [default: output.orphan_grace].",
)
def thin(
    config_path: Path, older_than: float, keep_whole_every: float, grace: float | None
) -> None:
    """Store old runs' whole listings as what they changed; every change is kept.

    A reader of the lake then replays at most one period (--keep-whole-every) of changes for
    those runs; `rebuild` stays exact. Replaced files are deleted once --grace has passed, by
    this command or the next sync.
    """
    from etl.config_file import load_config
    from etl.present.formats import human_bytes
    from etl.run.start import output_lock
    from etl.store.storage import store_for
    from etl.store.thinning import thin as thin_lake

    if not keep_whole_every:
        raise click.BadParameter("must be more than 0", param_hint="--keep-whole-every")
    config = load_config(config_path, secrets_needed=False)
    out = config.output
    store = store_for(out)
    store.check_lake("output.lake", str(config.source))
    with output_lock(out):
        done = thin_lake(
            store, older_than, keep_whole_every, out.orphan_grace if grace is None else grace
        )
    listings, changes = human_bytes(done.listing_bytes), human_bytes(done.change_bytes)
    click.echo(
        f"thinned {len(done.runs)} run(s) of {store.url}: "
        f"{listings} of whole listings stored as {changes} "
        f"of changes; {len(done.kept)} old run(s) kept whole (one a period); "
        f"{done.deleted} replaced file(s) deleted"
    )
