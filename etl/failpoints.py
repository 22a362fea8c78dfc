"""Named crash points for the crash-safety tests: `SWR_ETL_FAILPOINT=name` kills the process there.

A sync that dies at any of these moments must leave nothing half-visible; the tests prove it
by killing a real process at each one. `name:TERM` sends SIGTERM instead (the process goes on
until Python delivers it, as with a real signal), and `name:STOP` stops the process there
until a SIGCONT (so a test can act at that moment). Unset (always, in production), a failpoint
costs one dictionary lookup.
"""

from __future__ import annotations

import os
import signal

FAILPOINTS = (
    "page-staged",  # a page of a target was written to staging
    "lake-written",  # every Parquet file of the run is written, nothing published
    "lake-half-published",  # some of the run's partitions are renamed into place, not `runs`
    "lake-published",  # the run is committed to the lake, not yet in DuckDB
    "warehouse-loading",  # inside the DuckDB transaction, before COMMIT
    "warehouse-loaded",  # the run is loaded and the DuckDB file closed; no copy or page yet
    "copy-written",  # the read-only copy is written beside its place, not yet renamed
)
# `swr-etl thin`'s steps (etl.store.thinning): each must leave every reader right.
THIN_FAILPOINTS = (
    "thin-changes-written",  # a run's changes are in its tag_deltas folder, nothing else
    "thin-target-runs-written",  # and its new target_runs file; the old record stands
    "thin-recorded",  # the record is replaced; the replaced files are still there
)
# `swr-etl cleanup apply`'s (etl.run.cleanup): what it deleted is recorded, however it stops.
CLEANUP_FAILPOINTS = (
    "cleanup-answered",  # SWR answered a planned tag's DELETE; no read has confirmed it yet
    "cleanup-deleted",  # a planned tag was just deleted, and a list read confirmed it
    "cleanup-recording",  # the deletes are over; their record is not yet written
)
ENV = "SWR_ETL_FAILPOINT"
SIGNALS = {"KILL": signal.SIGKILL, "TERM": signal.SIGTERM, "STOP": signal.SIGSTOP}


def failpoint(name: str) -> None:
    """Send this process the signal the environment names for this failpoint (SIGKILL)."""
    chosen = os.environ.get(ENV)
    if chosen is None or not chosen.startswith(name):
        return
    point, _, kind = chosen.partition(":")
    if point == name:
        os.kill(os.getpid(), SIGNALS[kind or "KILL"])
