"""The registry's rules on writes: bad input refused with the rule named, and nothing changed."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

import pytest

from consent.model import (
    Cell,
    ChangeKind,
    CheckQuery,
    Decision,
    EntryState,
    GrantRequest,
    Purpose,
    Source,
)
from consent.representation import Actor
from seinhuis.errors import FailedPrecondition, InvalidArgument, NotFound, SeinhuisError
from seinhuis.vocabulary import LifeDomain, PartnerType
from tests.consent.conftest import ADULT, STRANGER, T0, Registry, grant_request, itself

P, D = Decision.PERMIT, Decision.DENY
ME = Actor(ADULT, 40)
DAY = dt.timedelta(days=1)


def days(n: float) -> dt.datetime:
    return T0 + n * DAY


def gp_check(at: dt.datetime | None = None) -> CheckQuery:
    return CheckQuery(
        ADULT, "huisarts-dewit", PartnerType.HUISARTS, LifeDomain.ZORGEN, Purpose.SIGNALERING, at
    )


def mine(**kwargs: object) -> GrantRequest:
    return grant_request(ADULT, **kwargs)  # type: ignore[arg-type]


#: (case, what the registry already holds, the refused grant, error type, message pattern)
REFUSED: list[tuple[str, list[GrantRequest], GrantRequest, type[SeinhuisError], str]] = [
    (
        "an inverted validity period",
        [],
        mine(valid_from=days(5), valid_until=days(1)),
        InvalidArgument,
        "valid_until: .*validity.inverted",
    ),
    (
        "an empty validity period",
        [],
        mine(valid_from=days(5), valid_until=days(5)),
        InvalidArgument,
        "validity.inverted",
    ),
    (
        "a period that has ended already",
        [],
        mine(valid_from=days(-5), valid_until=days(-1)),
        InvalidArgument,
        "validity.ended",
    ),
    (
        "a consent that would cover the past",
        [],
        mine(valid_from=days(-1)),
        InvalidArgument,
        "valid_from: .*validity.backdated",
    ),
    (
        "an objection overlapping a consent in the same cell",
        [mine()],
        mine(decision=D),
        FailedPrecondition,
        "rule overlap",
    ),
    (
        "a consent overlapping a bounded one in the same cell",
        [mine(valid_until=days(30))],
        mine(valid_from=days(29), valid_until=days(60)),
        FailedPrecondition,
        "rule overlap",
    ),
    (
        "a consent starting before a future one ends",
        [mine(valid_from=days(10))],
        mine(valid_until=days(11)),
        FailedPrecondition,
        "rule overlap",
    ),
    (
        "the same decision with another end",
        [mine(valid_until=days(30))],
        mine(valid_until=days(31)),
        FailedPrecondition,
        "rule overlap",
    ),
    (
        "consent for someone the actor does not represent",
        [],
        grant_request(STRANGER),
        SeinhuisError,
        "representation.not-represented",
    ),
]


@pytest.mark.parametrize(
    ("existing", "refused", "error", "pattern"),
    [c[1:] for c in REFUSED],
    ids=[c[0] for c in REFUSED],
)
def test_a_refused_grant_changes_nothing(
    reg: Registry,
    existing: list[GrantRequest],
    refused: GrantRequest,
    error: type[SeinhuisError],
    pattern: str,
) -> None:
    """The grant is refused with the rule named, and the store is exactly as before."""
    for request in existing:
        reg.registry.grant(ME, request)
    before = reg.snapshot(ADULT, STRANGER)
    with pytest.raises(error, match=pattern):
        reg.registry.grant(ME, refused)
    assert reg.snapshot(ADULT, STRANGER) == before


@pytest.mark.parametrize(
    ("make", "field"),
    [
        (lambda: Source(), "source"),
        (lambda: Source(partner_type=PartnerType.GGD, partner_id="ggd-a"), "source"),
        (lambda: Source.organisation("GGD Amsterdam!"), "source.partner_id"),
        (lambda: Source.category("KAPPER"), "source.partner_type"),  # type: ignore[arg-type]
        (
            lambda: Cell(ADULT, Source.category(PartnerType.GGD), "GELUK", Purpose.SIGNALERING),  # type: ignore[arg-type]
            "life_domain",
        ),
        (
            lambda: Cell(ADULT, Source.category(PartnerType.GGD), None, "RECLAME"),  # type: ignore[arg-type]
            "purpose",
        ),
        (lambda: mine(valid_from=dt.datetime(2027, 1, 1)), "valid_from"),
    ],
    ids=[
        "no source",
        "two sources",
        "partner id with prose",
        "unknown category",
        "unknown life domain",
        "unknown purpose",
        "naive time",
    ],
)
def test_malformed_values_are_refused_naming_the_field(
    make: Callable[[], object], field: str
) -> None:
    """Unknown categories, domains, purposes and malformed ids never become domain values."""
    with pytest.raises(InvalidArgument, match=rf"^{re.escape(field)}:"):
        make()


def test_a_few_minutes_of_clock_skew_are_not_backdating(reg: Registry) -> None:
    """The portal's clock may run a little ahead of the registry's."""
    entry = reg.registry.grant(ME, mine(valid_from=T0 - dt.timedelta(minutes=4)))
    assert entry.validity.valid_from == T0 - dt.timedelta(minutes=4)


def test_periods_that_meet_do_not_overlap(reg: Registry) -> None:
    """[a, b) and [b, c) in the same cell are both accepted, and each decides in its own time."""
    reg.registry.grant(ME, mine(valid_until=days(10)))
    reg.registry.grant(ME, mine(decision=D, valid_from=days(10), valid_until=days(20)))
    assert reg.registry.check(gp_check(days(9))).decision is P
    assert reg.registry.check(gp_check(days(10))).decision is D
    assert reg.registry.check(gp_check(days(20))).decision is D  # default deny again


def test_after_revoking_an_entry_the_cell_is_free_again(reg: Registry) -> None:
    """Changing consent into an objection: revoke first, then grant the objection."""
    consent = reg.registry.grant(ME, mine())
    reg.registry.revoke(ME, consent.id)
    objection = reg.registry.grant(ME, mine(decision=D))
    assert objection.state is EntryState.ACTIVE
    assert reg.registry.check(gp_check()).decision is D


def test_repeating_a_grant_is_idempotent(reg: Registry) -> None:
    """The same grant again (without valid_from) answers the entry unchanged, recording nothing."""
    first = reg.registry.grant(ME, mine(valid_until=days(30)))
    reg.clock.advance(minutes=5)
    assert reg.registry.grant(ME, mine(valid_until=days(30))) == first
    assert len(reg.store.changes_for(ADULT)) == 1


def test_revoking_twice_changes_nothing_the_second_time(reg: Registry) -> None:
    """A revoked entry stays revoked; the second revocation records nothing."""
    entry = reg.registry.grant(ME, mine())
    first = reg.registry.revoke(ME, entry.id)
    assert reg.registry.revoke(ME, entry.id) == first
    assert [c.kind for c in reg.store.changes_for(ADULT)] == [
        ChangeKind.GRANTED,
        ChangeKind.REVOKED,
    ]


def test_unknown_or_malformed_entry_ids(reg: Registry) -> None:
    """An unknown id is NOT_FOUND; a malformed one INVALID_ARGUMENT naming entry_id."""
    with pytest.raises(NotFound):
        reg.registry.revoke(ME, bytes(16))
    with pytest.raises(InvalidArgument, match=r"^entry_id:"):
        reg.registry.revoke(ME, b"short")


def test_every_change_is_audited_with_actor_party_and_time(reg: Registry) -> None:
    """The change log names who acted, in which capacity, and when."""
    entry = reg.registry.grant(ME, mine())
    reg.clock.advance(days=3)
    reg.registry.revoke(ME, entry.id)
    log = reg.registry.history(ME, ADULT)
    assert [(c.kind, c.actor, c.party.value, c.at) for c in log] == [
        (ChangeKind.GRANTED, ADULT, "SUBJECT", T0),
        (ChangeKind.REVOKED, ADULT, "SUBJECT", T0 + 3 * DAY),
    ]
    assert [c.entry.state for c in log] == [EntryState.ACTIVE, EntryState.REVOKED]


def test_a_revoked_entry_does_not_count_even_for_earlier_times(reg: Registry) -> None:
    """Revocation withdraws the decision: a check about the past does not revive it."""
    entry = reg.registry.grant(ME, mine())
    reg.clock.advance(days=10)
    reg.registry.revoke(ME, entry.id)
    assert reg.registry.check(gp_check(days(5))).decision is D


def test_a_permit_comes_with_a_receipt_for_exactly_this_use(reg: Registry) -> None:
    """The receipt names the person, partner, domain, purpose, deciding entry and window."""
    entry = reg.registry.grant(ME, mine(life_domain=None, valid_until=days(100)))
    reg.registry.grant(ME, mine(decision=D, valid_from=days(7)))
    result = reg.registry.check(gp_check())
    assert result.decision is P and result.receipt is not None
    receipt = result.receipt.receipt
    assert receipt.entry_id == entry.id
    assert (receipt.valid_from, receipt.valid_until) == (T0, days(7))
    assert (receipt.decided_at, receipt.partner_id) == (T0, "huisarts-dewit")


def test_a_deny_has_no_receipt(reg: Registry) -> None:
    """Default deny and an objection alike answer DENY without a receipt."""
    assert reg.registry.check(gp_check()).receipt is None
    reg.registry.grant(ME, mine(decision=D))
    result = reg.registry.check(gp_check())
    assert result.decision is D and result.receipt is None


def test_a_young_person_sees_their_own_matrix(reg: Registry) -> None:
    """list_entries gives entries oldest first, without revoked ones unless asked for them."""
    me = itself(17)
    kept = reg.registry.grant(me, grant_request(life_domain=LifeDomain.LEREN))
    reg.clock.advance(minutes=1)
    gone = reg.registry.grant(me, grant_request())
    reg.registry.revoke(me, gone.id)
    assert [e.id for e in reg.registry.list_entries(me, me.person)] == [kept.id]
    listed = reg.registry.list_entries(me, me.person, include_revoked=True)
    assert [e.id for e in listed] == [kept.id, gone.id]
