"""The service's rules without gRPC: limits, refusals, audit records and log fields."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from pseudonym import keyring
from pseudonym.evaluation import Evaluator
from pseudonym.model import OK, AuditRecord, Operation
from pseudonym.store.memory import MemoryAuditStore
from seinhuis.crypto import oprf
from seinhuis.errors import InvalidArgument, PermissionDenied, ResourceExhausted
from seinhuis.logs import EVENTS
from seinhuis.ratelimit import RateLimiter
from seinhuis.vocabulary import IdentifierKind

PERSON = IdentifierKind.PERSON
NOW = dt.datetime(2026, 11, 22, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Evaluator, MemoryAuditStore, keyring.Keyring]:
    ring = keyring.create(tmp_path)
    store = MemoryAuditStore()
    clock = [0.0]
    evaluator = Evaluator(
        keyring.KeyringWatcher(tmp_path),
        store,
        RateLimiter(10.0, 100, clock=lambda: clock[0]),
        max_batch=60,
        hub_ids=frozenset({"hub"}),
        evaluators=frozenset({"ggd"}),
        now=lambda: NOW,
    )
    return evaluator, store, ring


def test_an_evaluation_is_audited_once_with_its_count(
    setup: tuple[Evaluator, MemoryAuditStore, keyring.Keyring],
) -> None:
    """One batch gives one audit record with partner, kind, count, version, time and OK."""
    evaluator, store, ring = setup
    blinded = oprf.blind_many([b"a", b"b", b"c"])
    result = evaluator.evaluate("ggd", PERSON, [b.element for b in blinded])
    assert result.key_version == 1
    assert result.elements == oprf.blind_evaluate_many(
        ring.key(PERSON), [b.element for b in blinded]
    )
    assert store.find() == [AuditRecord(NOW, "ggd", Operation.EVALUATE, PERSON, 3, 1, OK)]


def test_refusals_are_counted_and_audited_with_their_status(
    setup: tuple[Evaluator, MemoryAuditStore, keyring.Keyring],
) -> None:
    """Empty, oversized, over-rate, malformed and hub batches are refused, counted and audited."""
    evaluator, store, _ = setup
    good = oprf.blind(b"a").element
    cases: list[tuple[str, list[bytes], type[Exception] | None]] = [
        ("ggd", [], InvalidArgument),
        ("ggd", [good] * 61, ResourceExhausted),
        ("ggd", [good, bytes(32)], InvalidArgument),  # a refused batch still takes its tokens
        ("ggd", [good] * 60, None),  # 98 of 100 tokens were left
        ("ggd", [good] * 60, ResourceExhausted),  # 38 left
        ("hub", [good], PermissionDenied),
    ]
    for partner, batch, error in cases:
        if error is None:
            evaluator.evaluate(partner, PERSON, batch)
            continue
        with pytest.raises(error):
            evaluator.evaluate(partner, PERSON, batch)
    assert evaluator.refusals() == {
        ("ggd", "INVALID_ARGUMENT"): 2,
        ("ggd", "RESOURCE_EXHAUSTED"): 2,
        ("hub", "PERMISSION_DENIED"): 1,
    }
    assert [(r.partner, r.count, r.outcome) for r in store.find()] == [
        ("ggd", 0, "INVALID_ARGUMENT"),
        ("ggd", 61, "RESOURCE_EXHAUSTED"),
        ("ggd", 2, "INVALID_ARGUMENT"),
        ("ggd", 60, OK),
        ("ggd", 60, "RESOURCE_EXHAUSTED"),
        ("hub", 1, "PERMISSION_DENIED"),
    ]


def test_rekey_factors_are_for_hub_ids_only(
    setup: tuple[Evaluator, MemoryAuditStore, keyring.Keyring],
) -> None:
    """Only a caller listed in hub_ids gets a factor; both outcomes are audited."""
    evaluator, store, ring = setup
    with pytest.raises(PermissionDenied):
        evaluator.rekey_factor("ggd", PERSON, 1, 1)
    factor = evaluator.rekey_factor("hub", PERSON, 1, 1)
    assert factor == oprf.rekey_factor(ring.key(PERSON), ring.key(PERSON))
    assert [(r.partner, r.operation, r.outcome) for r in store.find()] == [
        ("ggd", Operation.REKEY_FACTOR, "PERMISSION_DENIED"),
        ("hub", Operation.REKEY_FACTOR, OK),
    ]


def test_only_listed_evaluators_may_evaluate_or_read_key_info(
    setup: tuple[Evaluator, MemoryAuditStore, keyring.Keyring],
) -> None:
    """A name outside the evaluator list (a member of staff, say) is refused and audited; the
    hub reads key info but may not evaluate."""
    evaluator, store, _ = setup
    good = oprf.blind(b"bsn:999990019").element
    for caller in ("anna.staff", "consent", "ggd-removed"):
        with pytest.raises(PermissionDenied, match="only registered partner nodes"):
            evaluator.evaluate(caller, PERSON, [good])
        with pytest.raises(PermissionDenied, match="only registered partner nodes"):
            evaluator.key_info(caller)
    assert evaluator.key_info("hub").current_version == 1
    assert evaluator.key_info("ggd").current_version == 1
    assert [(r.partner, r.outcome) for r in store.find()] == [
        ("anna.staff", "PERMISSION_DENIED"),
        ("consent", "PERMISSION_DENIED"),
        ("ggd-removed", "PERMISSION_DENIED"),
    ]


def test_the_hub_cannot_be_an_evaluator(tmp_path: Path) -> None:
    """Listing the hub among the evaluators is a programming error, refused at construction."""
    keyring.create(tmp_path)
    with pytest.raises(ValueError, match="hub"):
        Evaluator(
            keyring.KeyringWatcher(tmp_path),
            MemoryAuditStore(),
            RateLimiter(10.0, 100),
            max_batch=60,
            hub_ids=frozenset({"hub"}),
            evaluators=frozenset({"hub", "ggd"}),
        )


def test_log_events_carry_only_catalogued_fields(
    setup: tuple[Evaluator, MemoryAuditStore, keyring.Keyring],
) -> None:
    """Every event the domain logs is in the catalog and passes only its allowed fields."""
    evaluator, _, _ = setup
    good = oprf.blind(b"bsn:123456782").element
    with capture_logs() as events:
        evaluator.evaluate("ggd", PERSON, [good])
        with pytest.raises(InvalidArgument):
            evaluator.evaluate("ggd", PERSON, [bytes(32)])
        evaluator.rekey_factor("hub", PERSON, 1, 1)
    assert [e["event"] for e in events] == [
        "pseudonym.evaluated",
        "pseudonym.refused",
        "pseudonym.rekey_factor_issued",
    ]
    for event in events:
        assert set(event) - {"event", "log_level"} <= EVENTS[event["event"]]
        assert not any(isinstance(v, bytes) for v in event.values())
