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
import pytest
import yaml
from click.testing import CliRunner
from PIL import Image

from etl.cli import cli
from etl.config import load_config
from etl.demo import run_demo
from etl.fakeswr import FakeSwr, Registry, ServerThread
from etl.run.sync import run_sync
from tests.conftest import write_config

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
SECTIONS = 9  # storage ×2, growth, ages, reclaimable, changes, retention, pulls, largest


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo's outputs (two syncs of a small registry), dashboard included."""
    directory = tmp_path_factory.mktemp("demo")
    with pytest.MonkeyPatch.context():
        run_demo(directory, repos=40, seed=3)
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
    with duckdb.connect(str(demo / "swr.duckdb"), read_only=True) as con:
        totals = con.execute(
            "SELECT repositories, tags, total_size, unique_size FROM warehouse_totals"
        ).fetchall()[0]
    assert [int(shown[k]) for k in ("repositories", "tags", "total_size", "unique_size")] == list(
        totals
    )
    shot = tmp_path / "dashboard.png"
    assert browser.save_screenshot(str(shot))
    with Image.open(shot) as image:
        colours = image.convert("RGB").getcolors(maxcolors=1_000_000) or []
    assert len(colours) > 100  # charts and text, not a blank page


def test_output_dashboard_is_rewritten_atomically_by_each_sync(
    tmp_path: Path, served: FakeSwr, small_registry: Registry
) -> None:
    path = write_config(tmp_path, served, list(small_registry.repositories)[:5])
    data = yaml.safe_load(path.read_text())
    data["output"]["dashboard"] = "./site/swr.html"
    path.write_text(yaml.safe_dump(data))
    page = tmp_path / "site" / "swr.html"
    assert run_sync(load_config(path)).exit_code == 0
    first = page.read_text()
    assert run_sync(load_config(path)).exit_code == 0
    assert page.read_text() != first  # a new run, a new page
    assert sorted(p.name for p in page.parent.iterdir()) == ["swr.html"]  # no partial left


def test_the_dashboard_command_writes_where_asked(demo: Path, tmp_path: Path) -> None:
    out = tmp_path / "elsewhere.html"
    result = CliRunner().invoke(
        cli, ["dashboard", "-c", str(demo / "config.yaml"), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert result.output == f"wrote {out}\n"
    assert out.stat().st_size > 1_000_000  # Plotly's script is inlined


def test_registry_text_in_the_dashboard_is_text_never_a_link_or_a_style(
    tmp_path: Path, browser: Any, small_registry: Registry
) -> None:
    planted = '<a href="http://example.invalid/x">click</a><b style="color:red">bold</b>'
    registry = copy.deepcopy(small_registry)
    largest = max((t for r in registry.repositories.values() for t in r.tags), key=lambda t: t.size)
    largest.tag = planted
    with ServerThread(registry) as server:
        path = write_config(tmp_path, server, list(registry.repositories))
        data = yaml.safe_load(path.read_text())
        data["output"]["dashboard"] = "./dashboard.html"
        path.write_text(yaml.safe_dump(data))
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
