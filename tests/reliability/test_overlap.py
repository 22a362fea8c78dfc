"""Two syncs at once: one runs, the other exits 75 at once and says who holds the lock."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

from etl.errors import LockHeldError
from etl.fakeswr import FakeSwr, Registry
from etl.run.lock import OutputLock
from tests.commands import paused_sync, stopped, sync_process
from tests.configs import WriteConfig
from tests.registries import expected_rows
from tests.stored import stored_rows


def test_a_sync_started_while_another_runs_exits_75_at_once_naming_it(
    write_config: WriteConfig, tmp_path: Path, served: FakeSwr, small_registry: Registry
) -> None:
    path = write_config(
        tmp_path, served, list(small_registry.repositories), page_size=20, concurrency=4
    )
    # The first sync holds the lock, stopped after its crawl: the two overlap by construction,
    # not by how fast two interpreters start.
    first = paused_sync(path, "lake-written:STOP")
    assert stopped(first.pid)
    second = sync_process(path)
    out, err = second.communicate(timeout=120)
    message = (out + err).decode()
    assert stopped(first.pid)  # it did not wait for the other
    assert second.returncode == 75, message
    assert "another sync holds" in message and f"pid {first.pid} " in message
    assert message.count("\n") == 1  # one line
    first.send_signal(signal.SIGCONT)
    _, err = first.communicate(timeout=120)
    assert first.returncode == 0, err.decode()
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
