"""`make bench`: how fast swr-tag-etl is, on this machine, against the local SWR API.

The local API runs in its own process (client and server never share an event loop); each sync
runs as `swr-etl sync` in its own process, so its peak RSS is its own. Prints one table; every
timing is the median of at least three runs, with min–max. Sizes are measured once (they are
deterministic for a seed). Not part of `make test`: it prints figures, it asserts nothing.

    python -m tests.bench.bench [--quick] [--only paced|hourly|hourly-1m] [--etl-from DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import yaml

from etl.fakeswr.registry import repository_names
from etl.swr.auth import TokenAuth
from etl.swr.client import RetryPolicy, SwrClient
from etl.swr.lists import tag_list

ROOT = Path(__file__).resolve().parents[2]
VIEW_QUERIES = {
    "repo_summary": "SELECT * FROM repo_summary",
    "namespace_summary": "SELECT * FROM namespace_summary",
    "tag_age": "SELECT * FROM tag_age",
    "staleness_buckets": "SELECT * FROM staleness_buckets",
    "largest_tags (top 100)": "SELECT * FROM largest_tags LIMIT 100",
    "digest_reuse": "SELECT * FROM digest_reuse",
    "size_history": "SELECT * FROM size_history",
    "tag_changes": "SELECT * FROM tag_changes",
    "layer_storage": "SELECT * FROM layer_storage",
    "tags_current": "SELECT * FROM tags_current",
    "warehouse_totals": "SELECT * FROM warehouse_totals",
    "stale_tags(90)": "SELECT * FROM stale_tags(90)",
    "retention_preview(10, 90)": "SELECT * FROM retention_preview(10, 90)",
    "tag_diff(last two runs)": "SELECT * FROM tag_diff((SELECT max(seq) - 1 FROM runs), (SELECT max(seq) FROM runs))",
}


@dataclass
class Server:
    """A local SWR API in a child process."""

    process: subprocess.Popen[str]
    info: dict[str, Any]
    repos: int

    @property
    def url(self) -> str:
        return str(self.info["url"])

    def stats(self, reset: bool = False) -> dict[str, Any]:
        """Requests served since the last reset, and when the first and last arrived."""
        query = "?reset=1" if reset else ""
        with urllib.request.urlopen(f"{self.url}/_fake/stats{query}", timeout=60) as answer:
            return dict(json.loads(answer.read()))

    def next_day(self, churn: float) -> None:
        request = urllib.request.Request(f"{self.url}/_fake/next-day?churn={churn}", method="POST")
        with urllib.request.urlopen(request, timeout=600) as answer:
            answer.read()


@contextmanager
def server(repos: int, tags: int, latency_ms: float = 0.0) -> Iterator[Server]:
    """Start `swr-etl fake-server` with a seeded registry; stop it afterwards."""
    command = [
        sys.executable,
        "-m",
        "etl",
        "fake-server",
        "--port",
        "0",
        "--repos",
        str(repos),
        "--tags",
        str(tags),
        "--seed",
        "1",
        "--latency-ms",
        str(latency_ms),
        "--no-manifests",
        "--json",
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    line = process.stdout.readline()
    try:
        yield Server(process, json.loads(line), repos)
    finally:
        process.terminate()
        process.wait(timeout=30)


def targets(repos: int) -> list[tuple[str, str]]:
    return repository_names(repos)


def write_config(
    directory: Path,
    srv: Server,
    concurrency: int = 16,
    page_size: int = 1000,
    requests_per_second: float = 100000,
) -> Path:
    by_namespace: dict[str, list[str]] = {}
    for namespace, repository in targets(srv.repos):
        by_namespace.setdefault(namespace, []).append(repository)
    config = {
        "endpoints": [
            {
                "name": "bench",
                "url": srv.url,
                "auth": {"type": "token", "token": srv.info["token"]},
                "targets": [
                    {"namespace": ns, "repositories": rs} for ns, rs in by_namespace.items()
                ],
            }
        ],
        "crawl": {
            "concurrency": concurrency,
            "requests_per_second": requests_per_second,
            "page_size": page_size,
            "timeout_s": 120,
        },
        "output": {"lake": "./lake", "duckdb": "./swr.duckdb"},
    }
    path = directory / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


@dataclass
class SyncRun:
    seconds: float
    peak_rss_mb: float
    summary: str
    crawl_seconds: float = 0.0  # from the run's own record: start to end of the crawl
    startup_seconds: float = 0.0  # process start to the first request at the server
    tail_seconds: float = 0.0  # the last request at the server to the process's exit


class PeakRss:
    """A process's peak RSS, read from its `VmHWM` every 10 ms while the block runs: `wait4`'s
    ru_maxrss also counts the RSS of the process that spawned it (Linux keeps the high-water
    mark across fork and exec), so a bench grown large would show in every sync's figure."""

    def __init__(self, pid: int) -> None:
        self.path, self.mb, self.done = f"/proc/{pid}/status", 0.0, threading.Event()
        self.watcher = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self) -> PeakRss:
        self.watcher.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.done.set()
        self.watcher.join()

    def _watch(self) -> None:
        while not self.done.wait(0.01):
            try:
                status = Path(self.path).read_text()
            except OSError:
                return
            if found := re.search(r"^VmHWM:\s+(\d+) kB", status, re.M):
                self.mb = max(self.mb, int(found.group(1)) / 1024)


def run_sync(config: Path, srv: Server | None = None) -> SyncRun:
    """Run `swr-etl sync` in a child process; return its wall time and peak RSS (and, given
    its server, how long it took to send the first request and to exit after the last)."""
    if srv is not None:
        srv.stats(reset=True)
    spawned = time.time()
    began = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "etl", "sync", "-c", str(config), "--no-progress"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    with PeakRss(process.pid) as peak:
        _, status, _ = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - began
    summary = process.stdout.read() if process.stdout else ""
    process.returncode = os.waitstatus_to_exitcode(status)
    exited = time.time()
    if process.returncode != 0:
        raise SystemExit(f"sync failed ({process.returncode}): {summary}")
    run = SyncRun(seconds, peak.mb, summary.strip().splitlines()[0])
    if srv is not None:
        seen = srv.stats()
        run.startup_seconds = seen["first_at"] - spawned
        run.tail_seconds = exited - seen["last_at"]
    return run


def fresh_sync(srv: Server, **config: Any) -> SyncRun:
    """A full sync into an empty output folder."""
    with tempfile.TemporaryDirectory() as directory:
        run = run_sync(write_config(Path(directory), srv, **config), srv)
        with duckdb.connect(str(Path(directory) / "swr.duckdb"), read_only=True) as con:
            query = "SELECT epoch(finished_at) - epoch(started_at) FROM runs"
            run.crawl_seconds = float(con.execute(query).fetchall()[0][0])
        return run


async def fetch_all(srv: Server, concurrency: int = 16, page_size: int = 1000) -> int:
    """Fetch and parse every page with our client, keep nothing; return the tag count."""
    queue = list(targets(srv.repos))
    count = 0
    client = SwrClient(
        srv.url,
        TokenAuth(srv.info["token"]),
        retry=RetryPolicy(),
        requests_per_second=100000,
        max_connections=concurrency,
        timeout_s=120,
    )

    async def worker() -> None:
        nonlocal count
        while queue:
            namespace, repository = queue.pop()
            listing = tag_list(namespace, repository, page_size=page_size)
            async for answer in client.iter_pages(listing):
                count += len(answer.body)

    async with client:
        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return count


def fetch_only(srv: Server) -> tuple[float, int]:
    began = time.perf_counter()
    count = asyncio.run(fetch_all(srv))
    return time.perf_counter() - began, count


def sdk_crawl(srv: Server, out: Path) -> tuple[float, int]:
    """What a user would write instead: the official SDK, sequential, AK/SK, into one Parquet file."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    from huaweicloudsdkcore.auth.credentials import BasicCredentials
    from huaweicloudsdkcore.http.http_config import HttpConfig
    from huaweicloudsdkswr.v2 import ListRepositoryTagRequest
    from huaweicloudsdkswr.v2 import SwrClient as SdkClient

    info = srv.info
    config = HttpConfig.get_default_config()
    config.timeout = (10, 120)
    client = (
        SdkClient.new_builder()
        .with_http_config(config)
        .with_credentials(BasicCredentials(info["ak"], info["sk"], info["project_id"]))
        .with_endpoint(srv.url)
        .build()
    )
    began = time.perf_counter()
    rows: list[dict[str, Any]] = []
    for namespace, repository in targets(srv.repos):
        marker = None
        while True:
            request = ListRepositoryTagRequest(
                namespace=namespace,
                repository=repository.replace("/", "$"),
                limit=1000,
                marker=marker,
            )
            response = client.list_repository_tag(request)
            for tag in response.tags or []:
                rows.append({"namespace": namespace, "repository": repository, **tag.to_dict()})
            marker = response.next_marker
            if not marker or response.has_more is False:
                break
    pq.write_table(pa.Table.from_pylist(rows), out)
    return time.perf_counter() - began, len(rows)


def timed(runs: int, action: Callable[[], Any]) -> tuple[list[float], list[Any]]:
    seconds, results = [], []
    for _ in range(runs):
        began = time.perf_counter()
        results.append(action())
        seconds.append(time.perf_counter() - began)
    return seconds, results


def spread(values: list[float], fmt: str = "{:.1f}") -> str:
    """median (min–max)"""
    return f"{fmt.format(statistics.median(values))} ({fmt.format(min(values))}–{fmt.format(max(values))})"


def folder_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


Row = tuple[str, str, str]


def throughput(
    rows: list[Row], tags: int, repos: int, runs: int, step: str, rss: bool = False
) -> None:
    with server(repos, tags) as srv:
        fetch = [fetch_only(srv) for _ in range(runs)]
        syncs = [fresh_sync(srv) for _ in range(runs)]
    fetch_rates = [count / seconds for seconds, count in fetch]
    sync_rates = [tags / run.seconds for run in syncs]
    ratios = [run.seconds / seconds for run, (seconds, _) in zip(syncs, fetch, strict=True)]
    rows.append(
        (
            f"{step}a",
            f"fetch-only, {tags:,} tags / {repos:,} repos, page 1000",
            f"{spread(fetch_rates, '{:,.0f}')} tags/s",
        )
    )
    rows.append(
        (
            f"{step}b",
            "first full sync (crawl + lake + warehouse + summary)",
            f"{spread(sync_rates, '{:,.0f}')} tags/s",
        )
    )
    rows.append(
        (step, "full sync time / fetch-only time (target <= 1.5)", spread(ratios, "{:.2f}"))
    )
    rows.append(
        (
            "2",
            f"  process start to first request, {tags:,} tags (target <= 0.3 s)",
            f"{spread([r.startup_seconds for r in syncs], '{:.2f}')} s",
        )
    )
    changed = tags / 1e6
    rows.append(
        (
            "3",
            f"  last request to exit, {tags:,} changed tags (target <= {0.3 + 0.5 * changed:.1f} s)",
            f"{spread([r.tail_seconds for r in syncs], '{:.2f}')} s",
        )
    )
    if rss:
        rows.append(
            (
                "5a",
                f"peak RSS of the sync at {tags:,} tags (target <= 300 MB)",
                f"{spread([r.peak_rss_mb for r in syncs], '{:.0f}')} MB",
            )
        )


def rate_capped(rows: list[Row], runs: int, scale: int) -> None:
    """A real endpoint's pace: 50 ms a request and API Gateway's 200 requests/s, which a user
    who read the docs configures, over the 200,000-tag / 800-repository registry: the crawl
    should run at the cap, the process cost little more than its requests, and the whole
    beat the official SDK by the cap's margin."""
    repos, tags = 800 // scale, 200_000 // scale
    with server(repos, tags, latency_ms=50) as srv:
        syncs = [fresh_sync(srv, concurrency=16, requests_per_second=200) for _ in range(runs)]
        with tempfile.TemporaryDirectory() as tmp:
            sdk, _ = sdk_crawl(srv, Path(tmp) / "sdk.parquet")  # once: it takes a minute
    requests = summary_requests(syncs[0].summary)
    ideal = requests / 200
    allowed = 1.25 * ideal + 0.5
    walls = [r.seconds for r in syncs]
    rows.append(
        (
            "4",
            f"50 ms a request, cap 200/s, {tags:,} tags, {requests:,} requests: "
            "crawl / (requests / cap) (target <= 1.05)",
            spread([r.crawl_seconds / ideal for r in syncs], "{:.3f}"),
        )
    )
    rows.append(
        (
            "4",
            f"  whole sync process (target <= 1.25 x {ideal:.2f} + 0.5 = {allowed:.2f} s)",
            f"{spread(walls, '{:.2f}')} s",
        )
    )
    rows.append(
        (
            "4",
            "  process start to first request (target <= 0.3 s)",
            f"{spread([r.startup_seconds for r in syncs], '{:.2f}')} s",
        )
    )
    rows.append(
        (
            "4",
            "  last request to exit (target <= 0.5 s)",
            f"{spread([r.tail_seconds for r in syncs], '{:.2f}')} s",
        )
    )
    rows.append(
        (
            "4",
            "  peak RSS of the paced sync (target <= 300 MB)",
            f"{spread([r.peak_rss_mb for r in syncs], '{:.0f}')} MB",
        )
    )
    rows.append(("4", "  official SDK, sequential, same registry (one run)", f"{sdk:.1f} s"))
    rows.append(
        ("4", "  speed-up over the SDK (target >= 10)", spread([sdk / w for w in walls], "{:.1f}"))
    )


def memory(rows: list[Row], tags: int, repos: int, runs: int, base_mb: float) -> None:
    with server(repos, tags) as srv:
        syncs = [fresh_sync(srv) for _ in range(runs)]
    peak = [r.peak_rss_mb for r in syncs]
    rows.append(
        (
            "5b",
            f"peak RSS of the sync at {tags:,} tags (target <= 300 MB)",
            f"{spread(peak, '{:.0f}')} MB",
        )
    )
    rows.append(
        ("5", "RSS growth, 3M / 1M (target <= 1.2)", f"{statistics.median(peak) / base_mb:.2f}")
    )
    rows.append(
        (
            "5c",
            f"full sync at {tags:,} tags",
            f"{spread([tags / r.seconds for r in syncs], '{:,.0f}')} tags/s",
        )
    )


def summary_requests(line: str) -> int:
    """Return the request count of a run's summary line (`…; 1,234 tags, 2,011 requests …`)."""
    return int(line.split(" requests")[0].rsplit(" ", 1)[1].replace(",", ""))


def latency(rows: list[Row], runs: int, scale: int) -> None:
    tags = 200_000 // scale
    with server(2000 // scale, tags, latency_ms=50) as srv:
        syncs = [fresh_sync(srv, concurrency=32) for _ in range(runs)]
    requests = summary_requests(syncs[0].summary)
    ideal = requests * 0.050 / 32
    walls = [r.seconds for r in syncs]
    rows.append(
        (
            "6",
            f"50 ms latency, concurrency 32, {tags:,} tags: {requests:,} requests, ideal {ideal:.1f} s",
            f"{spread(walls)} s",
        )
    )
    crawls = [r.crawl_seconds for r in syncs]
    rows.append(("6", "  of which crawling (start of run to last page)", f"{spread(crawls)} s"))
    rows.append(
        ("6", "crawl / ideal (target <= 1.2)", spread([c / ideal for c in crawls], "{:.2f}"))
    )
    rows.append(("6", "whole sync process / ideal", spread([w / ideal for w in walls], "{:.2f}")))


def sdk_and_history(rows: list[Row], runs: int, history_runs: int, scale: int) -> None:
    tags = 200_000 // scale
    with server(2000 // scale, tags) as srv, tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        ours = [fresh_sync(srv).seconds for _ in range(runs)]
        sdk = [sdk_crawl(srv, directory / f"sdk-{i}.parquet")[0] for i in range(runs)]
        rows.append(
            (
                "6",
                f"official SDK, sequential, AK/SK, {tags:,} tags to one Parquet file",
                f"{spread(sdk)} s",
            )
        )
        rows.append(("6", "our full sync of the same registry", f"{spread(ours)} s"))
        rows.append(
            (
                "6",
                "speed-up over the SDK (target >= 10)",
                spread([s / o for s, o in zip(sdk, ours, strict=True)], "{:.1f}"),
            )
        )

        config = write_config(directory, srv)
        sizes: dict[int, tuple[int, int]] = {}
        run_seconds = []
        for run in range(1, history_runs + 1):
            if run > 1:
                srv.next_day(churn=0.0033)  # ~1% of tags added, removed or moved per run
            run_seconds.append(run_sync(config).seconds)
            if run in (1, history_runs):
                sizes[run] = (
                    (directory / "swr.duckdb").stat().st_size,
                    folder_size(directory / "lake"),
                )
        (db1, lake1), (dbn, laken) = sizes[1], sizes[history_runs]
        rows.append(
            (
                "6",
                f"{history_runs} hourly runs, {tags:,} tags, ~1% churn: seconds per run",
                spread(run_seconds),
            )
        )
        rows.append(
            (
                "6",
                "DuckDB after 1 run / after the last",
                f"{db1 / 2**20:.1f} MB / {dbn / 2**20:.1f} MB",
            )
        )
        rows.append(("6", "DuckDB growth (target <= 3x)", f"{dbn / db1:.2f}x"))
        rows.append(
            (
                "6",
                "lake after 1 run / after the last",
                f"{lake1 / 2**20:.1f} MB / {laken / 2**20:.1f} MB",
            )
        )
        per_tag = (dbn - db1) / (tags * max(1, history_runs - 1))
        rows.append(("6", "DuckDB bytes per tag per run (after the first)", f"{per_tag:.2f}"))
        rows.append(("6", "lake bytes per tag per run", f"{laken / (tags * history_runs):.1f}"))
        views(rows, directory / "swr.duckdb", runs)


def views(rows: list[Row], db: Path, runs: int) -> None:
    copy = db.with_name("views.duckdb")
    shutil.copyfile(db, copy)
    with duckdb.connect(str(copy), read_only=True) as con:
        for name, query in VIEW_QUERIES.items():
            # Fetched as Arrow, as a dashboard's driver would: Python datetimes would cost more
            # than the query.
            con.sql(query).to_arrow_table()  # warm
            seconds, _ = timed(max(runs, 3), lambda q=query: con.sql(q).to_arrow_table())
            rows.append(
                (
                    "6",
                    f"view {name} (target <= 500 ms)",
                    f"{spread([s * 1000 for s in seconds], '{:.0f}')} ms",
                )
            )


def print_table(rows: list[Row], started: float) -> None:
    width = max(len(r[1]) for r in rows)
    print(
        f"\nswr-tag-etl benchmark on {os.cpu_count()} cores, "
        f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB, Python {sys.version.split()[0]}"
    )
    print(f"{'#':<3} {'measure':<{width}}  median (min–max)")
    for step, label, value in rows:
        print(f"{step:<3} {label:<{width}}  {value}")
    print(f"\ntotal benchmark time {time.perf_counter() - started:.0f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="a tenth of the sizes, for a smoke run"
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--only",
        choices=["paced", "hourly", "hourly-1m"],
        help="only the rows of a real endpoint's pace (row 4), or of issue 38's hourly run "
        "(row 38) at 200,000 or 1,000,000 tags",
    )
    parser.add_argument(
        "--etl-from",
        type=Path,
        help="row 38 measures the swr-etl of this checkout (a folder holding etl/ and sql/, "
        "put first on PYTHONPATH) against this one's local API: two versions, the same hour",
    )
    args = parser.parse_args()
    scale = 10 if args.quick else 1
    started = time.perf_counter()
    rows: list[Row] = []
    # Its own module, which takes this one's helpers: imported here, once this one is whole.
    from tests.bench.hourly import issue_38

    if args.only == "paced":
        rate_capped(rows, args.runs, scale)
        print_table(rows, started)
        return
    if args.only in ("hourly", "hourly-1m"):
        issue_38(rows, args.only, scale, args.runs, args.etl_from)
        print_table(rows, started)
        return
    throughput(rows, 200_000 // scale, 800 // scale, args.runs, "1")
    throughput(rows, 1_000_000 // scale, 2000 // scale, args.runs, "1", rss=True)
    base_mb = float(rows[-1][2].split()[0])
    memory(rows, 3_000_000 // scale, 6000 // scale, args.runs, base_mb)
    latency(rows, args.runs, scale)
    rate_capped(rows, args.runs, scale)
    sdk_and_history(rows, args.runs, 48 if not args.quick else 6, scale)
    issue_38(rows, "hourly", scale, args.runs, args.etl_from)
    issue_38(rows, "hourly-1m", scale, args.runs, args.etl_from)
    print_table(rows, started)


if __name__ == "__main__":
    main()
