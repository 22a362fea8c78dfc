"""The claim in `requires-python`, proven: the wheel, installed into a fresh venv of every other
CPython on this machine within the range (pyenv's, where present), runs the demo (two syncs a
day apart, the report) and `report` on its output. Run by `make test` after the suite.

    python -m tests.versions        prints one line per interpreter; exit 1 if any fails
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def lowest_supported() -> tuple[int, int]:
    """Return the lowest Python version `requires-python` admits."""
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    match = re.search(r'requires-python = ">=(\d+)\.(\d+)"', text)
    assert match, "requires-python must read >=X.Y"
    return int(match.group(1)), int(match.group(2))


def other_interpreters() -> dict[tuple[int, int], Path]:
    """Return one interpreter per CPython version found under pyenv, other than this one's."""
    found: dict[tuple[int, int], Path] = {}
    for python in sorted(Path.home().glob(".pyenv/versions/*/bin/python3")):
        match = re.fullmatch(r"(\d+)\.(\d+)\.\d+", python.parents[1].name)
        if match:
            found[(int(match.group(1)), int(match.group(2)))] = python
    found.pop(sys.version_info[:2], None)
    return found


def run(*args: str | Path, cwd: Path | None = None) -> str:
    """Run a command; return its output, or raise with its last lines."""
    done = subprocess.run(
        [str(a) for a in args], cwd=cwd, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-15:])
        raise RuntimeError(f"{' '.join(str(a) for a in args)} exited {done.returncode}:\n{tail}")
    return done.stdout


def check(python: Path, wheel: Path, work: Path) -> str:
    """Install the wheel (runtime and dashboard extras) into a fresh venv of `python`, run the
    demo and `report`; return what it showed."""
    venv = work / "venv"
    run(python, "-m", "venv", venv)
    run(venv / "bin/python", "-m", "pip", "install", "--quiet", f"{wheel}[dashboard]")
    demo = work / "demo"
    run(venv / "bin/swr-etl", "demo", "--dir", demo, "--repos", "30")
    report = run(venv / "bin/swr-etl", "report", "-c", demo / "config.yaml", "--format", "json")
    assert '"totals"' in report
    # Run from the scratch folder: from the checkout, `import etl` would find the checkout's.
    shipped = run(
        venv / "bin/python",
        "-c",
        "import etl, pathlib, importlib.metadata as m; "
        "print(pathlib.Path(etl.__file__).with_name('config.example.yaml').is_file(), "
        "any(f.name == 'LICENSE' for f in m.distribution('swr-tag-etl').files or []))",
        cwd=work,
    )
    assert shipped.split() == ["True", "True"], (
        f"the wheel lacks the example config or LICENSE: {shipped}"
    )
    version = run(
        venv / "bin/python",
        "-c",
        "import duckdb, sys; print(sys.version.split()[0], duckdb.__version__)",
    )
    return version.strip()


def checked(python: Path, wheel: Path, work: Path, version: tuple[int, int]) -> str:
    """Check one interpreter in `work`; return the line that says how it went."""
    name = f"Python {version[0]}.{version[1]}"
    began = time.monotonic()
    work.mkdir()
    try:
        shown = check(python, wheel, work)
    except (RuntimeError, AssertionError) as exc:
        return f"versions: {name}: FAILED: {exc}"
    return f"versions: {name} ok (python, duckdb {shown}) in {time.monotonic() - began:.0f} s"


def main() -> int:
    lowest = lowest_supported()
    chosen = {v: p for v, p in other_interpreters().items() if v >= lowest}
    if not chosen:
        print(f"versions: no other CPython >= {lowest[0]}.{lowest[1]} here; nothing to check")
        return 0
    with tempfile.TemporaryDirectory() as scratch:
        run(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", scratch, ROOT)
        (wheel,) = Path(scratch).glob("swr_tag_etl-*.whl")
        # Each interpreter in its own folder and processes, all at once: they mostly wait on
        # pip and the demo's syncs, and one core each is what this machine has.
        with ThreadPoolExecutor(max_workers=len(chosen)) as pool:
            lines = list(
                pool.map(
                    lambda item: checked(
                        item[1], wheel, Path(scratch) / f"py{item[0][0]}{item[0][1]}", item[0]
                    ),
                    sorted(chosen.items()),
                )
            )
    for line in lines:
        print(line)
    return 1 if any(": FAILED: " in line for line in lines) else 0


if __name__ == "__main__":
    sys.exit(main())
