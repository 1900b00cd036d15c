"""The per-partner token bucket: the burst first, then refills at its rate, per key."""

from __future__ import annotations

from seinhuis.ratelimit import RateLimiter


def test_the_bucket_allows_the_burst_then_refills_at_the_rate() -> None:
    """burst tokens at first, then one per 1/rate seconds, per key."""
    now = [0.0]
    limiter = RateLimiter(rate=2.0, burst=3, clock=lambda: now[0])
    assert [limiter.take("a") for _ in range(4)] == [True, True, True, False]
    assert limiter.take("b")
    now[0] += 0.5
    assert limiter.take("a")
    assert not limiter.take("a")
    now[0] += 100
    assert [limiter.take("a") for _ in range(4)] == [True, True, True, False]
