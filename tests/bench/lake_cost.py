"""What the lake costs: bytes and objects each run adds, measured against the local SWR API.

    .venv/bin/python -m tests.bench.lake_cost [--repos 200] [--tags 52000] [--churn 0.024]
        [--full-listing-every 1d] [--history 48] [--compare-syncs 5]
        [--month [--days 30] [--thin 30d]]

Three syncs into a fresh folder: a first sync, a second that finds nothing changed, and a third
a "day" later (`next_day` at `--churn`), all within one UTC day. For each it prints the bytes
and objects the run added to the lake, as a share of the first run's, and the share of tags the
day changed (from `tag_changes`). A year of hourly runs is estimated from them: one run a day
stores every repository whole (`output.full_listing_every: 1d`) and costs what the first did,
the other 23 cost what the unchanged run did; a reader of the registry's state lists the
objects of `runs`, `target_runs`, `tag_snapshots` and `tag_deltas`. `--month --thin 30d` then
runs `swr-etl thin --older-than 0 --keep-whole-every 30d --grace 0` over the simulated month
and prints the lake's bytes and objects after it, and how long it took.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import yaml

import etl.run.start
from etl.config import Config
from etl.config_file import load_config
from etl.fakeswr import Registry, ServerThread, generate_registry, next_day
from etl.job import run_sync
from tests.bench.bench import PeakRss

DAYS, HOURS = 365, 24
READ_TABLES = ("runs", "target_runs", "tag_snapshots", "tag_deltas")  # what a state query lists


def lake_files(lake: Path) -> dict[Path, int]:
    """Every file of the lake (staging aside) with its size."""
    return {
        p: p.stat().st_size for p in lake.rglob("*") if p.is_file() and "_staging" not in p.parts
    }


def write_config(directory: Path, url: str, token_env: str, full_every: str) -> Path:
    config = {
        "endpoints": [
            {
                "name": "local",
                "url": url,
                "auth": {"type": "token", "token": "${" + token_env + "}"},
                "targets": [{"namespace": "*", "repositories": ["*"]}],
            }
        ],
        "crawl": {"requests_per_second": 10_000, "concurrency": 16, "page_size": 1000},
        "output": {"lake": "./lake", "duckdb": "./swr.duckdb", "full_listing_every": full_every},
    }
    path = directory / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def history_and_rebuild(
    config: Config, server: ServerThread, day: Registry, runs: int
) -> tuple[int, float, int]:
    """Sync until `runs` runs were made (~1% of tags changed between each), then rebuild the
    database from the lake in a process of its own; return the runs, its seconds and the
    lake's bytes."""
    for _ in range(3, runs):
        day = next_day(day, churn=0.0033)
        server.serve(day)
        with contextlib.redirect_stdout(io.StringIO()):
            assert run_sync(config).exit_code == 0
    command = [sys.executable, "-m", "etl", "rebuild", "-c", str(config.source)]
    began = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    took = time.perf_counter() - began
    lake = config.output.lake
    assert isinstance(lake, Path)
    return runs, took, sum(lake_files(lake).values())


def compare_syncs(registry: Registry, times: int) -> None:
    """Print the median seconds of `times` unchanged syncs that store changes (`1d`) and of as
    many that store every run whole (`0`), interleaved so that the machine's moods hit both."""
    with tempfile.TemporaryDirectory() as scratch, ServerThread(registry) as server:
        os.environ["LAKE_COST_TOKEN"] = server.credentials.token
        configs = {}
        for every in ("1d", "0"):
            directory = Path(scratch) / every
            directory.mkdir()
            configs[every] = load_config(
                write_config(directory, server.url, "LAKE_COST_TOKEN", every)
            )
            with contextlib.redirect_stdout(io.StringIO()):
                run_sync(configs[every])
        seconds: dict[str, list[float]] = {every: [] for every in configs}
        for _ in range(times):
            for every, config in configs.items():
                began = time.perf_counter()
                with contextlib.redirect_stdout(io.StringIO()):
                    run_sync(config)
                seconds[every].append(time.perf_counter() - began)
    for every, taken in seconds.items():
        shown = ", ".join(f"{t:.2f}" for t in taken)
        print(f"full_listing_every {every}: median {statistics.median(taken):.2f} s ({shown})")


class Hourly(datetime):
    """The run clock: an hour later at every run, from a UTC midnight."""

    runs = 0

    @classmethod
    def now(cls, tz: Any = None) -> Hourly:  # type: ignore[override]
        start = datetime(2026, 11, 1, tzinfo=UTC) + timedelta(hours=cls.runs)
        moment = start if tz is not None else start.replace(tzinfo=None)
        return cls.fromtimestamp(moment.timestamp(), tz)


def simulate_month(
    registry: Registry,
    full_every: str,
    days: int = 30,
    keep_whole: str | None = None,
    keep: Path | None = None,
) -> None:
    """Sync hourly for `days` days (~1% of tags changed a run) and print the lake's bytes and
    the objects a reader of the registry's state lists, then a year estimated as 365/`days` of
    it; with `keep_whole`, then thin the lake and print the same again."""
    with kept_or_temporary(keep) as scratch, ServerThread(registry) as server:
        os.environ["LAKE_COST_TOKEN"] = server.credentials.token
        config = load_config(write_config(Path(scratch), server.url, "LAKE_COST_TOKEN", full_every))
        etl.run.start.datetime = Hourly  # type: ignore[misc]  # the runs' clock, not the tool's
        day = registry
        for hour in range(days * HOURS):
            Hourly.runs = hour
            if hour:
                day = next_day(day, churn=0.0033)
                server.serve(day)
            with contextlib.redirect_stdout(io.StringIO()):
                assert run_sync(config).exit_code == 0, hour
        print(f"{days * HOURS} hourly runs over {days} days, {registry.tag_count():,} tags:")
        print_lake(Path(scratch) / "lake", days)
        if keep_whole is not None:
            config_path = Path(scratch) / "config.yaml"
            command = [sys.executable, "-m", "etl", "thin", "-c", str(config_path)]
            command += ["--older-than", "0", "--keep-whole-every", keep_whole, "--grace", "0"]
            began = time.perf_counter()
            process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
            with PeakRss(process.pid) as peak:
                _, status, _ = os.wait4(process.pid, 0)
            took = time.perf_counter() - began
            said = process.stdout.read().strip() if process.stdout else ""
            assert os.waitstatus_to_exitcode(status) == 0, said
            print(f"{said}")
            print(f"  in {took:.1f} s, peak RSS {peak.mb:.0f} MB; then:")
            print_lake(Path(scratch) / "lake", days)


@contextlib.contextmanager
def kept_or_temporary(folder: Path | None) -> Iterator[str]:
    """Yield `folder` (made, and kept afterwards) or a temporary folder."""
    if folder is None:
        with tempfile.TemporaryDirectory() as scratch:
            yield scratch
        return
    folder.mkdir(parents=True)
    yield str(folder)


def print_lake(lake: Path, days: int) -> None:
    """Print the lake's bytes and objects, and a year's estimated as 365/`days` of them."""
    files = lake_files(lake)
    read = [p for p in files if p.relative_to(lake).parts[0] in READ_TABLES]
    size = sum(files.values())
    print(
        f"  lake {size / 2**20:.1f} MiB in {len(files):,} objects; a state reader lists {len(read):,}"
    )
    scale = DAYS / days
    print(
        f"  a year (x{scale:.2f}): {size * scale / 2**30:.2f} GiB, {round(len(read) * scale):,} objects listed"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repos", type=int, default=200)
    parser.add_argument("--tags", type=int, default=52_000)
    parser.add_argument("--churn", type=float, default=0.024, help="next_day's churn")
    parser.add_argument(
        "--full-listing-every", default="1d", help="output.full_listing_every (0: every run whole)"
    )
    parser.add_argument(
        "--compare-syncs",
        type=int,
        default=0,
        help="instead: time this many unchanged syncs "
        "storing changes and as many storing every run whole, interleaved; print the medians",
    )
    parser.add_argument(
        "--month",
        action="store_true",
        help="instead: simulate a month of hourly runs (the run "
        "clock moved an hour a run) and count what a reader of the state lists",
    )
    parser.add_argument("--days", type=int, default=30, help="with --month: how many days")
    parser.add_argument(
        "--keep", type=Path, default=None, help="with --month: leave the folder here (new)"
    )
    parser.add_argument(
        "--thin", default=None, help="with --month: then thin, keeping a whole listing this often"
    )
    parser.add_argument(
        "--history",
        type=int,
        default=0,
        help="then run up to this many runs (~1%% churn each) "
        "and time `swr-etl rebuild` from the lake",
    )
    args = parser.parse_args()
    registry = generate_registry(repos=args.repos, tags=args.tags, seed=5)
    if args.compare_syncs:
        compare_syncs(registry, args.compare_syncs)
        return
    if args.month:
        simulate_month(registry, args.full_listing_every, args.days, args.thin, args.keep)
        return

    with tempfile.TemporaryDirectory() as scratch, ServerThread(registry) as server:
        directory = Path(scratch)
        os.environ["LAKE_COST_TOKEN"] = server.credentials.token
        path = write_config(directory, server.url, "LAKE_COST_TOKEN", args.full_listing_every)
        config = load_config(path)
        lake = directory / "lake"
        seen: dict[Path, int] = {}
        added: list[tuple[str, int, int, int, float]] = []
        steps = [
            ("first sync", registry),
            ("nothing changed", registry),
            ("a day later", next_day(registry, churn=args.churn)),
        ]
        for label, day in steps:
            server.serve(day)
            began = time.perf_counter()
            with contextlib.redirect_stdout(io.StringIO()):
                assert run_sync(config).exit_code == 0, label
            took = time.perf_counter() - began
            files = lake_files(lake)
            new = {p: s for p, s in files.items() if p not in seen}
            read = [p for p in new if p.relative_to(lake).parts[0] in READ_TABLES]
            added.append((label, sum(new.values()), len(new), len(read), took))
            seen = files
        rebuilt = history_and_rebuild(config, server, day, args.history) if args.history else None
        with duckdb.connect(str(directory / "swr.duckdb"), read_only=True) as con:
            changed, before = con.execute(
                "SELECT (SELECT count(*) FROM tag_changes WHERE to_seq = 3), "
                "(SELECT count(*) FROM tag_state(2))"
            ).fetchall()[0]
    (_, first_bytes, _, first_read, _), (_, quiet_bytes, _, quiet_read, _) = added[:2]
    print(f"registry: {registry.tag_count():,} tags in {len(registry.repositories)} repositories")
    print(
        f"{'run':<18}{'bytes added':>14}{'of the first':>14}{'objects':>9}{'read':>6}"
        f"{'sync (s)':>10}"
    )
    for label, size, objects, read, took in added:
        print(
            f"{label:<18}{size:>14,}{size / first_bytes:>13.1%}{objects:>9}{read:>6}{took:>10.2f}"
        )
    print(f"the day changed {changed:,} of {before:,} tags ({changed / before:.1%})")
    if rebuilt is not None:
        runs, seconds, lake_bytes = rebuilt
        print(
            f"after {runs} runs: lake {lake_bytes / 2**20:.1f} MiB; `swr-etl rebuild` took "
            f"{seconds:.1f} s"
        )
    quiet_runs = DAYS * (HOURS - 1)
    year_bytes = DAYS * first_bytes + quiet_runs * quiet_bytes
    year_read = DAYS * first_read + quiet_runs * quiet_read
    print(
        f"a year of hourly runs (estimated): {year_bytes / 1e9:.2f} GB, and {year_read:,} "
        f"objects for a reader of the state to list (every run whole: "
        f"{DAYS * HOURS * first_bytes / 1e9:.1f} GB, {DAYS * HOURS * first_read:,} objects)"
    )


if __name__ == "__main__":
    main()
