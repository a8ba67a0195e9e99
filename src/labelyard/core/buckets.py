"""Token buckets: ``burst`` actions at once per caller, then ``rate`` a second.

Pure state with an injected clock (seconds, monotonic), kept by whoever owns it (the app).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable

MAX_TRACKED_KEYS = 100_000


class TokenBuckets:
    """One token bucket per caller: ``burst`` requests at once, then ``rate`` a second."""

    def __init__(self, rate: float, burst: int, clock: Callable[[], float]) -> None:
        self.rate, self.burst, self.clock = rate, burst, clock
        self._buckets: OrderedDict[bytes, tuple[float, float]] = OrderedDict()

    def wait(self, caller: bytes) -> float:
        """0 if the caller has a request left, else the seconds until it will (nothing taken)."""
        found = self._buckets.get(caller)
        if found is None:
            return 0.0
        tokens, last = found
        tokens = min(float(self.burst), tokens + (self.clock() - last) * self.rate)
        return 0.0 if tokens >= 1 else (1 - tokens) / self.rate

    def take(self, caller: bytes) -> float:
        """0 if the caller may go on, else the seconds until it may."""
        now = self.clock()
        tokens, last = self._buckets.pop(caller, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - last) * self.rate)
        wait = 0.0
        if tokens >= 1:
            tokens -= 1
        else:
            wait = (1 - tokens) / self.rate
        self._buckets[caller] = (tokens, now)
        if len(self._buckets) > MAX_TRACKED_KEYS:
            self._buckets.popitem(last=False)  # the caller seen longest ago
        return wait
