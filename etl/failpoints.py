"""Named crash points for the crash-safety tests: `SWR_ETL_FAILPOINT=name` kills the process there.

A sync that dies at any of these moments must leave nothing half-visible; the tests prove it
by killing a real process at each one. Unset (always, in production), a failpoint costs one
dictionary lookup.
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
)
ENV = "SWR_ETL_FAILPOINT"


def failpoint(name: str) -> None:
    """Kill this process with SIGKILL if the environment names this failpoint."""
    if os.environ.get(ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)
