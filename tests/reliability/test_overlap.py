"""Two syncs started together: one runs, the other exits 75 at once and says who holds the lock."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from etl.errors import LockHeldError
from etl.fakeswr import FakeSwr, Options, Registry
from etl.run.lock import OutputLock
from tests.conftest import expected_rows, stored_rows, write_config


@pytest.mark.parametrize("fake_options", [Options(latency_ms=10)])
def test_two_syncs_started_together(
    tmp_path: Path, served: FakeSwr, small_registry: Registry
) -> None:
    path = write_config(
        tmp_path, served, list(small_registry.repositories), page_size=20, concurrency=4
    )
    command = [sys.executable, "-m", "etl", "sync", "-c", str(path), "--no-progress"]
    began = time.monotonic()
    first, second = (
        subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)
    )
    ended: dict[int, float] = {}
    while len(ended) < 2 and time.monotonic() - began < 120:
        for index, process in enumerate((first, second)):
            if index not in ended and process.poll() is not None:
                ended[index] = time.monotonic() - began
        time.sleep(0.01)
    outputs = {}
    for index, process in enumerate((first, second)):
        out, err = process.communicate(timeout=10)
        outputs[process.returncode] = (ended[index], (out + err).decode())
    assert sorted(outputs) == [0, 75], outputs
    waited, message = outputs[75]
    assert "another sync holds" in message and "pid " in message
    assert message.count("\n") == 1  # one line
    assert waited < outputs[0][0]  # it did not wait for the other
    assert stored_rows(tmp_path / "swr.duckdb") == expected_rows(small_registry)


CHURN = """
import sys
import time
from pathlib import Path
from etl.errors import LockHeldError
from etl.run.lock import OutputLock
print("ready", flush=True)
for _ in range(int(sys.argv[2])):
    try:
        with OutputLock(Path(sys.argv[1])):
            time.sleep(0.0001)
    except LockHeldError:
        pass
"""


def test_a_refused_lock_always_names_its_holder(tmp_path: Path) -> None:
    # Another process takes and drops the lock as fast as it can, while this one tries to
    # take it: every refusal must name a process, none may say "unknown process".
    lock = tmp_path / "swr.duckdb.lock"
    other = subprocess.Popen(
        [sys.executable, "-c", CHURN, str(lock), "5000"], stdout=subprocess.PIPE, text=True
    )
    assert other.stdout is not None and other.stdout.readline() == "ready\n"
    refusals: list[str] = []
    while other.poll() is None:
        try:
            with OutputLock(lock):
                pass
        except LockHeldError as exc:
            refusals.append(str(exc))
    other.stdout.close()
    assert len(refusals) > 100  # the race was run many times
    assert [r for r in refusals if "unknown process" in r] == []
    assert all(f"(pid {other.pid} on " in r for r in refusals)
