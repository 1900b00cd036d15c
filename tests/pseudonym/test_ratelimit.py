"""The per-partner token bucket."""

from __future__ import annotations

from seinhuis.ratelimit import RateLimiter


def test_a_partner_may_take_its_burst_then_the_rate() -> None:
    """Up to `burst` at once, then refill at `rate` per second; partners do not share."""
    now = [0.0]
    limiter = RateLimiter(100.0, 500, clock=lambda: now[0])
    assert limiter.take("a", 500)
    assert not limiter.take("a", 1)
    assert limiter.take("b", 500)
    now[0] = 1.0
    assert limiter.take("a", 100)
    assert not limiter.take("a", 1)


def test_a_refused_request_takes_nothing_and_the_bucket_caps_at_burst() -> None:
    """A refusal costs no tokens; a long pause refills to burst, not beyond."""
    now = [0.0]
    limiter = RateLimiter(10.0, 50, clock=lambda: now[0])
    assert not limiter.take("a", 51)
    assert limiter.take("a", 50)
    now[0] = 1000.0
    assert not limiter.take("a", 51)
    assert limiter.take("a", 50)
