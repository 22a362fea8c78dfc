"""The defaults the reader commands share, each stated once: the command line's options, the
report, the demo and the dashboard (its note and the parameter of its query) take them from
here, so what a page says and what it shows cannot drift apart."""

from __future__ import annotations

# Not pushed for a year is stale: the report's stale tags and the dashboard's cleanup candidates.
STALE_DAYS = 365
# Neither pulled nor pushed for a month of observation: the report's cleanup candidates.
UNPULLED_DAYS = 30
# How many namespaces and repositories the report lists.
TOP = 10
