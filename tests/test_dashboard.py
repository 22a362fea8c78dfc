"""The dashboard in a real browser: the demo's page opened from `file://` in headless Chromium
with networking blocked renders every chart without a console error, shows the views' figures,
and is rewritten atomically by each sync that asks for it."""

from __future__ import annotations

import copy
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import orjson
import pytest
from PIL import Image

from etl.config_file import load_config
from etl.demo import run_demo
from etl.fakeswr import FakeSwr, Registry, ServerThread
from etl.job import run_sync
from tests.commands import invoke
from tests.configs import WriteConfig, editing
from tests.stored import reading

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
# health, candidates, reclaimable, retention, storage ×2, growth, ages, changes, pulls, largest
SECTIONS = 11


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo's outputs (two syncs of a registry of 17 organizations, so that the top 15
    leave some to `other`), dashboard included."""
    directory = tmp_path_factory.mktemp("demo")
    with pytest.MonkeyPatch.context():
        run_demo(directory, repos=340, seed=3)
    return directory


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Chromium, the OS's, driven by Selenium; no request leaves the machine."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    if not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)):
        pytest.fail("chromium and chromedriver are missing: `make browser` installs them")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless=new",
        "--no-sandbox",  # CI runs as root
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1400,3200",
        "--proxy-server=http://127.0.0.1:9",  # nothing listens there: no network at all
        "--proxy-bypass-list=<-loopback>",
        "--host-resolver-rules=MAP * ~NOTFOUND",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    try:
        yield driver
    finally:
        driver.quit()


CHART_ELEMENTS = (
    "return Array.from(document.querySelectorAll('.chart .js-plotly-plot')).map("
    "p => p.querySelectorAll('svg.main-svg *').length)"
)


def charts_drawn(browser: Any, at_least: int = 20) -> list[int]:
    """Return each chart's count of drawn elements once Plotly has drawn them all (a cold
    browser on a fresh machine draws after the page has loaded), or what it drew in 30 s."""
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    def drawn(driver: Any) -> list[int] | bool:
        counts: list[int] = driver.execute_script(CHART_ELEMENTS)
        return counts if len(counts) == SECTIONS and min(counts) > at_least else False

    try:
        return WebDriverWait(browser, 30, poll_frequency=0.2).until(drawn)  # type: ignore[no-any-return]
    except TimeoutException:
        return list(browser.execute_script(CHART_ELEMENTS))


def test_the_dashboard_renders_in_a_real_browser_with_no_network(
    demo: Path, browser: Any, tmp_path: Path
) -> None:
    page = demo / "dashboard.html"
    assert "<script src=" not in page.read_text()  # everything inlined: nothing to fetch
    browser.get(page.as_uri())
    rendered = charts_drawn(browser)
    assert len(rendered) == SECTIONS
    assert all(count > 20 for count in rendered), rendered
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == []
    shown = browser.execute_script(
        "return Object.fromEntries(Array.from(document.querySelectorAll('[data-metric]'))"
        ".map(m => [m.dataset.metric, m.dataset.value]))"
    )
    with reading(demo / "swr.duckdb") as con:
        totals = con.execute(
            "SELECT repositories, tags, total_size, unique_size FROM warehouse_totals"
        ).fetchall()[0]
        layers, status = con.execute(
            "SELECT (SELECT sum(layer_bytes) FROM layer_storage WHERE level = 'endpoint'), "
            "(SELECT status FROM runs ORDER BY seq DESC LIMIT 1)"
        ).fetchall()[0]
    assert [int(shown[k]) for k in ("repositories", "tags", "total_size", "unique_size")] == list(
        totals
    )
    assert (int(shown["layer_bytes"]), shown["last_run_status"]) == (layers, status)
    shot = tmp_path / "dashboard.png"
    assert browser.save_screenshot(str(shot))
    with Image.open(shot) as image:
        colours = image.convert("RGB").getcolors(maxcolors=1_000_000) or []
    assert len(colours) > 100  # charts and text, not a blank page


def test_output_dashboard_is_rewritten_atomically_by_each_sync(
    write_config: WriteConfig, tmp_path: Path, served: FakeSwr, small_registry: Registry
) -> None:
    path = write_config(tmp_path, served, list(small_registry.repositories)[:5])
    with editing(path) as data:
        data["output"]["dashboard"] = "./site/swr.html"
    page = tmp_path / "site" / "swr.html"
    assert run_sync(load_config(path)).exit_code == 0
    first = page.read_text()
    assert run_sync(load_config(path)).exit_code == 0
    assert page.read_text() != first  # a new run, a new page
    assert sorted(p.name for p in page.parent.iterdir()) == ["swr.html"]  # no partial left


def test_the_dashboard_command_writes_where_asked(demo: Path, tmp_path: Path) -> None:
    out = tmp_path / "elsewhere.html"
    result = invoke("dashboard", "-c", str(demo / "config.yaml"), "--out", str(out))
    assert result.exit_code == 0, result.output
    assert result.output == f"wrote {out}\n"
    assert out.stat().st_size > 1_000_000  # Plotly's script is inlined


def test_registry_text_in_the_dashboard_is_text_never_a_link_or_a_style(
    write_config: WriteConfig, tmp_path: Path, browser: Any, small_registry: Registry
) -> None:
    planted = '<a href="http://example.invalid/x">click</a><b style="color:red">bold</b>'
    registry = copy.deepcopy(small_registry)
    largest = max((t for r in registry.repositories.values() for t in r.tags), key=lambda t: t.size)
    largest.tag = planted
    with ServerThread(registry) as server:
        path = write_config(tmp_path, server, list(registry.repositories))
        with editing(path) as data:
            data["output"]["dashboard"] = "./dashboard.html"
        assert run_sync(load_config(path)).exit_code == 0
    browser.get((tmp_path / "dashboard.html").as_uri())
    charts_drawn(browser)
    links = browser.execute_script(
        "return document.querySelectorAll('.js-plotly-plot a, .js-plotly-plot [style*=\"red\"]').length"
    )
    shown = browser.execute_script(
        "return Array.from(document.querySelectorAll('.js-plotly-plot text')).map(t => t.textContent).join('|')"
    )
    assert links == 0
    assert '<a href="http://example.invalid/x">' in shown  # the name, shown as it is


# --- a dashboard to decide from ---------------------------------------------------------------

TRACES = """return Array.from(document.querySelectorAll('.chart .js-plotly-plot')).map(p =>
  p.data.map(t => [t.name || '', (t.marker && t.marker.color) || (t.line && t.line.color) || '',
                   (t.x || []).filter(v => v !== null).length]))"""
TABLE = """return Array.from(document.querySelectorAll('[data-table="' + arguments[0] + '"] tbody tr'))
  .map(r => Array.from(r.children).filter(c => c.tagName === 'TD').map(c => c.dataset.value))"""
TITLES = "return Array.from(document.querySelectorAll('section h2')).map(h => h.textContent)"


@pytest.fixture
def page(demo: Path, browser: Any) -> Any:
    """The demo's dashboard, open in the browser with every chart drawn."""
    browser.get((demo / "dashboard.html").as_uri())
    charts_drawn(browser)
    return browser


def shown_table(page: Any, name: str) -> list[list[str]]:
    """The exact values of a table of the page, row by row."""
    return [list(row) for row in page.execute_script(TABLE, name)]


def title_with(page: Any, start: str) -> str:
    return next(t for t in page.execute_script(TITLES) if t.startswith(start))


def test_each_measure_has_one_colour_on_every_chart_and_no_chart_is_empty(page: Any) -> None:
    charts = page.execute_script(TRACES)
    assert len(charts) == SECTIONS
    colour_of: dict[str, set[str]] = {}
    for traces in charts:
        assert traces and max(points for _, _, points in traces) > 0, traces
        for name, colour, _ in traces:
            colour_of.setdefault(name, set()).add(colour)
    assert all(len(colours) == 1 for colours in colour_of.values()), colour_of
    assert len({c for colours in colour_of.values() for c in colours}) == len(colour_of)
    assert {"unique", "total", "layers"} <= colour_of.keys()


LEGEND_CLEARANCE = """return Array.from(document.querySelectorAll('.chart .js-plotly-plot')).map(p => {
  const legend = p.querySelector('.legend');
  if (!legend) return null;
  const l = legend.getBoundingClientRect();
  return Array.from(p.querySelectorAll('.nsewdrag, .xtick, .ytick, .g-xtitle, .g-ytitle'))
    .map(e => e.getBoundingClientRect())
    .filter(r => r.width > 0 && l.left < r.right && r.left < l.right && l.top < r.bottom
                 && r.top < l.bottom).length;
})"""


def test_no_legend_sits_over_a_plot_or_an_axis(page: Any) -> None:
    overlaps = page.execute_script(LEGEND_CLEARANCE)
    assert any(o is not None for o in overlaps)  # charts with several measures have legends
    assert all(o in (None, 0) for o in overlaps), overlaps


def other_unique_and_layers(con: duckdb.DuckDBPyConnection, shown: set[str]) -> tuple[int, int]:
    """The test's own count of the `other` organizations' unique and layer bytes: each image,
    and each layer, once across them."""
    images: dict[tuple[str, str], int] = {}
    layers: dict[tuple[str, str], int] = {}
    rows = con.execute(
        "SELECT t.endpoint, t.namespace, coalesce(t.digest, 'tag:' || t.tag), t.size, m.manifest "
        "FROM tags_current AS t LEFT JOIN manifests AS m USING (digest)"
    ).fetchall()
    for endpoint, namespace, image, size, manifest in rows:
        if f"{endpoint}:{namespace}" in shown:
            continue
        images[(endpoint, image)] = max(images.get((endpoint, image), 0), size)
        document = orjson.loads(manifest) if manifest else {}
        for blob in [*document.get("layers", []), document.get("config") or {}]:
            if "layers" in document and blob.get("digest") and blob.get("size") is not None:
                layers[(endpoint, blob["digest"])] = blob["size"]
    return sum(images.values()), sum(layers.values())


def test_every_top_n_says_n_of_m_and_its_other_row_holds_the_rest(demo: Path, page: Any) -> None:
    with reading(demo / "swr.duckdb") as con:
        counts = con.execute(
            "SELECT (SELECT count(*) FROM namespace_summary WHERE level = 'namespace'), "
            "(SELECT count(*) FROM repo_summary), "
            "(SELECT count(*) FROM cleanup_candidates(365)), "
            "(SELECT count(DISTINCT (endpoint, namespace, repository)) FROM repo_pulls), "
            "(SELECT count(*) FROM tags_current)"
        ).fetchall()[0]
        organizations = shown_table(page, "organizations")
        shown = {row[0] for row in organizations[:-1]}
        other_unique, other_layers = other_unique_and_layers(con, shown)
        rest_total = con.execute(
            "SELECT sum(total_size) FROM namespace_summary WHERE level = 'namespace' "
            "AND endpoint || ':' || namespace NOT IN (SELECT unnest($s))",
            {"s": sorted(shown)},
        ).fetchall()[0][0]
    expected = zip(
        ("Storage by organization", "Top repositories", "What to delete", "Pull activity",
         "Largest tags"),
        (15, 15, 15, 10, 10),
        counts,
        strict=True,
    )  # fmt: skip
    for start, top, of in expected:
        assert f"top {min(top, of)} of {of:,} " in title_with(page, start)
    assert counts[0] > 15  # the demo's registry leaves organizations to `other`
    other = organizations[-1]
    assert other[0] == f"other ({counts[0] - 15} organizations)"
    columns = ["organization", "repositories", "tags", "total_size", "unique_size", "layer_bytes"]
    values = dict(zip(columns, other, strict=True))
    assert int(values["total_size"]) == rest_total
    assert (int(values["unique_size"]), int(values["layer_bytes"])) == (other_unique, other_layers)


def test_the_cleanup_table_is_what_its_query_on_the_page_returns(demo: Path, page: Any) -> None:
    query = page.execute_script(
        "return Array.from(document.querySelectorAll('p.reproduce code'))[0].textContent"
    )
    sql_text = query.split('"')[1]  # swr-etl query -c config.yaml "SELECT …"
    result = invoke("query", "-c", str(demo / "config.yaml"), "--format", "json", sql_text)
    assert result.exit_code == 0, result.output
    answer = orjson.loads(result.output)
    rows = answer["rows"] if isinstance(answer, dict) else answer
    table = shown_table(page, "candidates")
    for row, shown in zip(rows[:15], table, strict=False):
        name = f"{row['endpoint']}:{row['namespace']}/{row['repository']}"
        assert shown[:4] == [name, str(row["candidate_tags"]), str(row["candidate_size"]),
                             str(row["reclaimable_size"])]  # fmt: skip
    rest = rows[15:]
    assert table[-1][0] == f"other ({len(rest)} repositories)"
    assert int(table[-1][3]) == sum(int(r["reclaimable_size"]) for r in rest)


def test_health_growth_and_pull_rates_match_the_views(demo: Path, page: Any) -> None:
    health = dict(
        zip(
            page.execute_script(
                "return Array.from(document.querySelectorAll('[data-table=health] th'))"
                ".map(h => h.textContent)"
            ),
            page.execute_script(
                "return Array.from(document.querySelectorAll('[data-table=health] td'))"
                ".map(c => c.dataset.value)"
            ),
            strict=True,
        )
    )
    with reading(demo / "swr.duckdb") as con:
        last = con.execute(
            "SELECT run_id, status, targets, failed, seq FROM runs ORDER BY seq DESC LIMIT 1"
        ).fetchall()[0]
        first = con.execute("SELECT min(seq) FROM runs").fetchall()[0][0]
        totals = dict(
            con.execute("SELECT seq, sum(unique_size) FROM run_totals GROUP BY seq").fetchall()
        )
    assert (health["run_id"], health["status"]) == last[:2]
    assert (int(health["targets"]), int(health["failed"])) == last[2:4]
    assert health["run"].endswith(f"· #{last[4]}")
    # The demo's two runs are seconds apart: both windows start at the first run.
    for days, since, unique_growth, _ in shown_table(page, "growth_windows"):
        assert since.endswith(f"· #{first}") and days in ("7", "30")
        assert int(unique_growth) == totals[last[4]] - totals[first]
    labels = page.execute_script(
        "return document.querySelector('.chart .js-plotly-plot').data[0].x"
    )
    assert len(set(labels)) == len(labels) == 2  # two runs a second apart read apart
    pulls = shown_table(page, "pulls")
    assert pulls and all(float(days) < 1 for _, _, days, _ in pulls[:-1])
    assert all(rate == "" for *_, rate in pulls)  # no rate from syncs seconds apart


def test_a_failed_target_shows_in_the_health_section_with_what_the_api_said(
    write_config: WriteConfig, tmp_path: Path, browser: Any, small_registry: Registry
) -> None:
    keys = list(small_registry.repositories)[:6]
    with ServerThread(small_registry) as server:
        server.options.broken_repositories = {keys[0]}
        path = write_config(tmp_path, server, keys)
        with editing(path) as data:
            data["output"]["dashboard"] = "./dashboard.html"
            data["crawl"]["max_attempts"] = 1
        assert run_sync(load_config(path)).exit_code == 1
    browser.get((tmp_path / "dashboard.html").as_uri())
    charts_drawn(browser)
    with reading(tmp_path / "swr.duckdb") as con:
        failed = con.execute(
            "SELECT endpoint || ':' || namespace || '/' || repository, http_status, error_code, "
            "request_id FROM target_runs WHERE status = 'failed'"
        ).fetchall()
    (shown,) = shown_table(browser, "failures")
    assert (shown[0], int(shown[1]), shown[2], shown[4]) == failed[0]
    assert "failed targets: top 1 of 1" in title_with(browser, "Last run's health")
