"""`make bench`'s rows for issue 38: what an hourly run costs on a paced registry.

One local API (its own process) at the benchmark's pace — 50 ms a request, the client capped at
200 requests/s, concurrency 16 — serving 200,000 tags in 800 repositories, or 1,000,000 in
2,000. The config selects every repository by pattern (`namespace: "*"`, `repositories: ["*"]`),
as an hourly job over a whole registry would, with `crawl.skip_unchanged: true` when this
version's config has the key. In one output folder, in order:

1. first syncs (each into a fresh folder; the last one's folder goes on);
2. hourly runs, each after `POST /_fake/next-hour?share=0.1&turnover=1` (10% of repositories
   touched: tags added, re-pushed, moved and deleted; one repository deleted, one created);
3. unchanged hours (`share=0`: only pull counters move);
4. at 1,000,000 tags, an hourly run that also draws `output.dashboard`, then the `dashboard`
   command on that warehouse;
5. runs after a mass re-push (`POST /_fake/repush-everything`: every tag renumbered and
   pushed again);
6. the same unthrottled (`POST /_fake/latency?ms=0`, no cap): a first sync and an hourly run.

After each run the warehouse's `tags_current` is compared with what the local API serves
(`GET /_fake/fingerprint`). Every figure is from outside the process: requests and their times
at the server, wall time and peak RSS (its `VmHWM`) of the `swr-etl` process.

    python -m tests.bench.bench --only hourly      # 200,000 tags, 3 runs a cell (2-2.5 min)
    python -m tests.bench.bench --only hourly-1m   # 1,000,000 tags, 1 run a cell (3-5 min)
    python -m tests.bench.bench --only hourly --etl-from DIR   # DIR's swr-etl, this local API
"""

from __future__ import annotations

import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import yaml

from etl.fakeswr.admin import fingerprint
from tests.bench.bench import PeakRss, Row, Server, server, spread

STEP = "38"
PACE = {"concurrency": 16, "requests_per_second": 200}
UNTHROTTLED = {"concurrency": 16, "requests_per_second": 100_000}
# A warehouse row as etl.fakeswr.admin.registry_rows makes a registry's.
TAGS_CURRENT = (
    "SELECT namespace, repository, tag, id, repo_id, image_id, digest, schema, path,"
    " internal_path, size, is_trusted, epoch_us(created), epoch_us(updated), domain_id,"
    " tag_type FROM tags_current"
)


@dataclass
class Outcome:
    """One `swr-etl` process, seen from outside."""

    exit_code: int
    seconds: float
    peak_rss_mb: float
    requests: int = 0
    list_requests: int = 0
    startup_seconds: float | None = None  # process start to the first request at the server
    tail_seconds: float | None = None  # the last request at the server to the process's exit
    last_error: str = ""  # the last line on stderr, or ""
    equal: bool | None = None  # its warehouse equals the registry (None: no warehouse)


class Subject:
    """The `swr-etl` under test (this checkout's, or another's with `etl_from`) and the local
    API it syncs from."""

    def __init__(self, srv: Server, etl_from: Path | None = None):
        self.srv = srv
        self.env = dict(os.environ)
        # `python -m` puts the working folder first on the path, ahead of PYTHONPATH: the
        # processes run in `etl_from` (which holds etl/ and sql/) to import its `etl`.
        self.cwd = etl_from.resolve() if etl_from is not None else None
        if self.cwd is not None:
            self.env["PYTHONPATH"] = str(self.cwd)
        self.skips = self.has_skip_unchanged()

    def has_skip_unchanged(self) -> bool:
        """True if the `etl` under test has `crawl.skip_unchanged` (issue 38's feature)."""
        probe = "from etl.config import CrawlConfig as C; print('skip_unchanged' in C.model_fields)"
        answer = subprocess.run(
            [sys.executable, "-c", probe],
            env=self.env,
            cwd=self.cwd,
            capture_output=True,
            text=True,
            check=True,
        )
        return answer.stdout.strip() == "True"

    def run(self, arguments: list[str]) -> Outcome:
        """Run `swr-etl ARGUMENTS`: its exit code, wall time, peak RSS, its requests at the
        local API and when the first and last came. A failed run is a figure, not an error."""
        self.srv.stats(reset=True)
        with tempfile.TemporaryFile() as stderr:  # a file: a pipe could fill while we wait4
            spawned, began = time.time(), time.perf_counter()
            process = subprocess.Popen(
                [sys.executable, "-m", "etl", *arguments],
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                env=self.env,
                cwd=self.cwd,
            )
            with PeakRss(process.pid) as peak:
                _, status, _ = os.wait4(process.pid, 0)
            seconds, exited = time.perf_counter() - began, time.time()
            process.returncode = os.waitstatus_to_exitcode(status)
            stderr.seek(0)
            lines = stderr.read().decode(errors="replace").strip().splitlines()
        seen = self.srv.stats()
        outcome = Outcome(process.returncode, seconds, peak.mb)
        outcome.requests, outcome.list_requests = seen["requests"], seen["list_requests"]
        if seen["first_at"] is not None:
            outcome.startup_seconds = seen["first_at"] - spawned
            outcome.tail_seconds = exited - seen["last_at"]
        outcome.last_error = lines[-1] if lines else ""
        return outcome

    def sync(self, folder: Path) -> Outcome:
        """Run one sync of `folder`'s config; then compare its warehouse with the registry."""
        outcome = self.run(["sync", "-c", str(folder / "config.yaml"), "--no-progress"])
        if (folder / "swr.duckdb").exists():
            served = str(self.admin("fingerprint", method="GET")["fingerprint"])
            outcome.equal = warehouse_fingerprint(folder / "swr.duckdb") == served
        return outcome

    def first_sync(self, folder: Path, crawl: dict[str, Any]) -> Outcome:
        """A sync into a new folder."""
        self.write_config(folder, crawl)
        return self.sync(folder)

    def after_each(self, runs: int, change: str, folder: Path) -> list[Outcome]:
        """`runs` times: change the registry (`POST /_fake/CHANGE`), then sync `folder`."""
        outcomes = []
        for _ in range(runs):
            self.admin(change)
            outcomes.append(self.sync(folder))
        return outcomes

    def write_config(self, folder: Path, crawl: dict[str, Any], dashboard: bool = False) -> None:
        """Write `folder/config.yaml`: every repository by pattern, `crawl` as given, and
        `skip_unchanged: true` where the etl under test has it."""
        folder.mkdir(parents=True, exist_ok=True)
        output: dict[str, Any] = {"lake": "./lake", "duckdb": "./swr.duckdb"}
        if dashboard:
            output["dashboard"] = "./dashboard.html"
        endpoint = {
            "name": "bench",
            "url": self.srv.url,
            "auth": {"type": "token", "token": self.srv.info["token"]},
            "targets": [{"namespace": "*", "repositories": ["*"]}],
        }
        skip = {"skip_unchanged": True} if self.skips else {}
        crawl = {**crawl, "page_size": 1000, "timeout_s": 120, **skip}
        config = {"endpoints": [endpoint], "crawl": crawl, "output": output}
        (folder / "config.yaml").write_text(yaml.safe_dump(config))

    def admin(self, path: str, method: str = "POST") -> dict[str, Any]:
        """Call one of the local API's `/_fake/` routes; return its JSON answer."""
        request = urllib.request.Request(f"{self.srv.url}/_fake/{path}", method=method)
        with urllib.request.urlopen(request, timeout=600) as answer:
            return dict(json.loads(answer.read()))


def warehouse_fingerprint(db: Path) -> str:
    """The fingerprint of the warehouse's current tags, as the local API makes its own."""
    with duckdb.connect(str(db), read_only=True) as con:
        return fingerprint(batched(con.execute(TAGS_CURRENT)))


def batched(cursor: duckdb.DuckDBPyConnection) -> Iterator[tuple[Any, ...]]:
    """Every row of `cursor`'s result, 10,000 at a time: the bench's process stays small."""
    while rows := cursor.fetchmany(10_000):
        yield from rows


# --- rows ------------------------------------------------------------------------------------


def figure(values: list[float], fmt: str) -> str:
    """The median (min–max) of `values`, the one value, or "-" for none."""
    if len(values) < 2:
        return fmt.format(values[0]) if values else "-"
    return spread(values, fmt)


def judged(label: str, values: list[float], fmt: str, unit: str, limit: float) -> Row:
    """A row: the median (min–max) of `values`, the target `<= limit`, and met or missed."""
    verdict = "met" if values and statistics.median(values) <= limit else "missed"
    unit = f" {unit}" if unit else ""
    return (
        STEP,
        label,
        f"{figure(values, fmt)}{unit}; target <= {fmt.format(limit)}{unit}: {verdict}",
    )


def told(label: str, value: str) -> Row:
    return (STEP, label, value)


def known(values: list[float | None]) -> list[float]:
    return [v for v in values if v is not None]


def timing_rows(what: str, runs: list[Outcome], tail_limit: float, rss_limit: float) -> list[Row]:
    """Process start to first request, last request to exit, and peak RSS of `runs`."""
    rows = []
    starts, tails = known([r.startup_seconds for r in runs]), known([r.tail_seconds for r in runs])
    if starts:
        rows.append(judged(f"  {what}: process start to first request", starts, "{:.2f}", "s", 0.4))
        rows.append(judged(f"  {what}: last request to exit", tails, "{:.2f}", "s", tail_limit))
    rss = [r.peak_rss_mb for r in runs]
    rows.append(judged(f"  {what}: peak RSS", rss, "{:.0f}", "MB", rss_limit))
    return rows


def outcome_rows(what: str, runs: list[Outcome]) -> list[Row]:
    """Exit codes, and whether each warehouse equals the registry."""
    rows = [told(f"  {what}: exit codes", ", ".join(str(r.exit_code) for r in runs))]
    equal = sum(r.equal is True for r in runs)
    verdict = "met" if equal == len(runs) else "missed"
    rows.append(
        told(f"  {what}: warehouse equals the registry", f"{equal} of {len(runs)} runs: {verdict}")
    )
    errors = Counter(gist(r.last_error) for r in runs if r.exit_code not in (0, 1))
    rows += [told(f"  {what}: stderr's last line", f"{n}x {e}") for e, n in errors.items()]
    return rows


def gist(error: str) -> str:
    """An error line without what varies from run to run (temporary folders, amounts)."""
    error = re.sub(r"/tmp/[^ ]*/", ".../", error.split("\\x0a")[0])
    return re.sub(r"( Error): .*", r"\1 ...", error)[:170]  # DuckDB's: "Out of Memory Error: "


@dataclass
class Scale:
    """One registry size, its limits, and how many runs a cell gets."""

    repos: int
    tags: int
    runs: int
    tail_limit: float  # issue 38: last request to exit, paced

    @property
    def name(self) -> str:
        return f"{self.tags:,} tags / {self.repos:,} repositories"


HOUR = "next-hour?share=0.1&turnover=1"


def hourly(rows: list[Row], scale: Scale, dashboard: bool, etl_from: Path | None) -> None:
    """Every row of issue 38 at `scale` (see the module's docstring for the order of runs)."""
    with (
        server(scale.repos, scale.tags, latency_ms=50) as srv,
        tempfile.TemporaryDirectory() as tmp,
    ):
        subject = Subject(srv, etl_from)
        mode = "with crawl.skip_unchanged: true" if subject.skips else "full crawls"
        rows.append(told(f"paced, {scale.name}, 50 ms a request, cap 200/s, concurrency 16", mode))
        if etl_from is not None:
            rows.append(told("  the swr-etl measured", f"from {etl_from}"))
        if not subject.skips:
            rows.append(told("  crawl.skip_unchanged", "not in this version's config yet"))
        chain = Path(tmp) / "chain"
        firsts = [subject.first_sync(Path(tmp) / f"first-{i}", PACE) for i in range(scale.runs)]
        (Path(tmp) / f"first-{scale.runs - 1}").rename(chain)
        full = statistics.median([r.requests for r in firsts])
        rows.append(told("  first sync: requests (a full crawl)", f"{full:,.0f}"))
        rows += outcome_rows("first sync", firsts)
        rows += timing_rows("first sync", firsts, scale.tail_limit, 300)
        hours = subject.after_each(scale.runs, HOUR, chain)
        rows += hour_rows(hours, full, scale)
        rows += unchanged_rows(subject.after_each(scale.runs, "next-hour?share=0", chain))
        if dashboard:
            rows += dashboard_rows(subject, chain, hours)
        rows += mass_rows(subject.after_each(scale.runs, "repush-everything", chain))
        subject.admin("latency?ms=0")
        rows += unthrottled_rows(subject, Path(tmp), chain, scale)


def hour_rows(hours: list[Outcome], full: float, scale: Scale) -> list[Row]:
    """Issue 38, item 2 (at 200,000 tags) and item 4: the hourly run after 10% touched."""
    label = "hourly run (10% of repositories touched)"
    shares = [r.requests / full for r in hours]
    walls = [r.seconds for r in hours]
    if scale.tags >= 1_000_000:  # item 2's targets are the 200,000-tag registry's
        rows = [told(f"  {label}: requests / a full crawl's", figure(shares, "{:.1%}"))]
        rows.append(told(f"  {label}: whole process", f"{figure(walls, '{:.2f}')} s"))
    else:
        rows = [judged(f"  {label}: requests / a full crawl's", shares, "{:.1%}", "", 0.15)]
        rows.append(judged(f"  {label}: whole process", walls, "{:.2f}", "s", 1.5))
    requests = [float(r.requests) for r in hours]
    rows.append(told(f"  {label}: requests", figure(requests, "{:,.0f}")))
    rows += outcome_rows(label, hours)
    return rows + timing_rows(label, hours, scale.tail_limit, 300)


def unchanged_rows(runs: list[Outcome]) -> list[Row]:
    """Issue 38, item 2: an unchanged hour sends only the list pages."""
    label = "unchanged hour"
    sent = ", ".join(f"{r.requests:,} ({r.list_requests:,} lists)" for r in runs)
    verdict = "met" if all(r.requests == r.list_requests for r in runs) else "missed"
    rows = [told(f"  {label}: requests", f"{sent}; target: only the list pages: {verdict}")]
    walls = figure([r.seconds for r in runs], "{:.2f}")
    return [*rows, told(f"  {label}: whole process", f"{walls} s"), *outcome_rows(label, runs)]


def mass_rows(runs: list[Outcome]) -> list[Row]:
    """Issue 38, item 4: a paced run in which every tag changed exits 0 within 300 MB."""
    label = "every tag re-pushed and renumbered"
    verdict = "met" if all(r.exit_code == 0 for r in runs) else "missed"
    codes = ", ".join(str(r.exit_code) for r in runs)
    rows = [told(f"  {label}: exit codes", f"{codes}; target 0: {verdict}")]
    rows += outcome_rows(label, runs)[1:]
    rss = [r.peak_rss_mb for r in runs]
    rows.append(judged(f"  {label}: peak RSS", rss, "{:.0f}", "MB", 300))
    walls = figure([r.seconds for r in runs], "{:.2f}")
    tails = figure(known([r.tail_seconds for r in runs]), "{:.2f}")
    rows.append(told(f"  {label}: whole process", f"{walls} s"))
    return [*rows, told(f"  {label}: last request to exit", f"{tails} s")]


def dashboard_rows(subject: Subject, chain: Path, hours: list[Outcome]) -> list[Row]:
    """Issue 38, item 4: the dashboard of a 1,000,000-tag warehouse, in the sync (an hourly run
    with `output.dashboard`, against the hourly runs without it) and by the command."""
    subject.write_config(chain, PACE, dashboard=True)
    page = chain / "dashboard.html"
    subject.admin(HOUR)
    began = time.time()
    drawn = subject.sync(chain)
    written = page.exists() and page.stat().st_mtime >= began
    label = "dashboard in the sync (an hourly run with output.dashboard)"
    without = statistics.median(known([r.tail_seconds for r in hours]) or [0.0])
    tail = f"{drawn.tail_seconds or 0:.1f} s (the hourly runs without it: {without:.1f} s)"
    rows = [told(f"  {label}: exit code", str(drawn.exit_code))]
    rows.append(told(f"  {label}: last request to exit", tail))
    if written:
        extra = [(drawn.tail_seconds or 0) - without]
        rows.append(
            judged(f"  {label}: after the last request, more than without", extra, "{:.1f}", "s", 5)
        )
        rows.append(judged(f"  {label}: peak RSS", [drawn.peak_rss_mb], "{:.0f}", "MB", 500))
    else:
        rows.append(told(f"  {label}: page written", f"no, missed: {drawn.last_error[:120]}"))
    subject.write_config(chain, PACE)
    out = chain / "command.html"
    command = subject.run(["dashboard", "-c", str(chain / "config.yaml"), "--out", str(out)])
    label = "`swr-etl dashboard` on that warehouse (whole process)"
    rows.append(told(f"  {label}: exit code", f"{command.exit_code} {command.last_error[:120]}"))
    rows.append(judged(f"  {label}: time", [command.seconds], "{:.1f}", "s", 5))
    rows.append(judged(f"  {label}: peak RSS", [command.peak_rss_mb], "{:.0f}", "MB", 500))
    return rows


def unthrottled_rows(subject: Subject, tmp: Path, chain: Path, scale: Scale) -> list[Row]:
    """Issue 38, item 4: peak RSS <= 300 MB unthrottled too (no latency, no cap)."""
    first = subject.first_sync(tmp / "unthrottled", UNTHROTTLED)
    subject.write_config(chain, UNTHROTTLED)
    hours = subject.after_each(scale.runs, HOUR, chain)
    rows = [told("unthrottled (no latency, no cap), same registry", "")]
    rows += outcome_rows("first sync", [first]) + outcome_rows("hourly run", hours)
    rows.append(judged("  first sync: peak RSS", [first.peak_rss_mb], "{:.0f}", "MB", 300))
    rss = [r.peak_rss_mb for r in hours]
    return [*rows, judged("  hourly run: peak RSS", rss, "{:.0f}", "MB", 300)]


def issue_38(
    rows: list[Row], which: str, scale_down: int, runs: int, etl_from: Path | None = None
) -> None:
    """The rows of `which` ("hourly": 200,000 tags, `runs` a cell; "hourly-1m": 1,000,000, one
    a cell), of this checkout's swr-etl or `etl_from`'s."""
    if which == "hourly":
        scale = Scale(800 // scale_down, 200_000 // scale_down, runs, 0.5)
        hourly(rows, scale, dashboard=False, etl_from=etl_from)
    else:
        scale = Scale(2000 // scale_down, 1_000_000 // scale_down, 1, 1.0)
        hourly(rows, scale, dashboard=True, etl_from=etl_from)
