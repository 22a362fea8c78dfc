"""Fault injection for the local SWR API: which request fails, and how.

A fault is drawn per request from a seeded stream. A request that failed is always served
normally the next time it is asked for, so a client that retries always finishes.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

FAULT_KINDS = (
    "500",
    "429",
    "429_retry_after",
    "reset",
    "truncated",
    "slow",
    "token_expiry",
)


@dataclass
class FaultPlan:
    """How often requests fail and which kinds of failure are drawn."""

    rate: float = 0.0
    kinds: tuple[str, ...] = FAULT_KINDS
    seed: int = 0
    slow_s: float = 2.0
    retry_after_s: float = 1.0
    _rng: random.Random = field(init=False, repr=False)
    _failed_last: set[str] = field(init=False, default_factory=set, repr=False)
    injected: dict[str, int] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        unknown = set(self.kinds) - set(FAULT_KINDS)
        if unknown:
            raise ValueError(f"unknown fault kinds: {sorted(unknown)}")
        self._rng = random.Random(self.seed)

    def draw(self, request_key: str) -> str | None:
        """Return the fault for this request, or None; never the same request twice in a row."""
        if request_key in self._failed_last:
            self._failed_last.discard(request_key)
            return None
        if self.rate <= 0 or self._rng.random() >= self.rate:
            return None
        kind = self._rng.choice(self.kinds)
        self._failed_last.add(request_key)
        self.injected[kind] = self.injected.get(kind, 0) + 1
        return kind
