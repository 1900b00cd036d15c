"""A token bucket per partner, counted in evaluated elements."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class RateLimiter:
    """Each partner may take `rate` tokens per second on average and `burst` at once."""

    def __init__(
        self, rate: float, burst: int, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate and burst must be positive")
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # partner -> (tokens, at)
        self._lock = threading.Lock()

    def try_take(self, partner: str, n: int) -> bool:
        """Take n tokens if the partner has them; a refused request takes nothing."""
        with self._lock:
            now = self._clock()
            tokens, at = self._buckets.get(partner, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - at) * self.rate)
            if n > tokens:
                self._buckets[partner] = (tokens, now)
                return False
            self._buckets[partner] = (tokens - n, now)
            return True
