"""Precedence: specific beats general, objection beats consent, default deny, validity windows."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest

from consent.model import (
    Cell,
    CheckQuery,
    Decision,
    Entry,
    EntryState,
    Party,
    Pseudonym,
    Purpose,
    Source,
    Validity,
)
from consent.precedence import decide, specificity
from seinhuis.vocabulary import LifeDomain, PartnerType
from tests.consent.conftest import ADULT, STRANGER, T0

P, D = Decision.PERMIT, Decision.DENY
GP = PartnerType.HUISARTS
OWN_GP = "huisarts-dewit"
ZORGEN = LifeDomain.ZORGEN
ALL = None
PENDING = (EntryState.GRANT_PENDING, EntryState.REVOCATION_PENDING)
_ids = itertools.count(1)


def entry(
    decision: Decision,
    *,
    org: str | None = None,
    category: PartnerType = GP,
    domain: LifeDomain | None = ZORGEN,
    purpose: Purpose = Purpose.SIGNALERING,
    days: tuple[int, int | None] = (-30, None),
    state: EntryState = EntryState.ACTIVE,
    subject: Pseudonym = ADULT,
) -> Entry:
    source = Source.organisation(org) if org else Source.category(category)
    start, end = days
    return Entry(
        id=next(_ids).to_bytes(16, "big"),
        cell=Cell(subject, source, domain, purpose),
        decision=decision,
        validity=Validity(
            T0 + dt.timedelta(days=start), T0 + dt.timedelta(days=end) if end is not None else None
        ),
        state=state,
        awaiting=Party.SUBJECT if state in PENDING else None,
        created_at=T0 - dt.timedelta(days=60),
        changed_at=T0 - dt.timedelta(days=60),
    )


QUERY = CheckQuery(ADULT, OWN_GP, GP, ZORGEN, Purpose.SIGNALERING)

#: (case, entries, expected decision). The query: the resident's own GP (a HUISARTS),
#: life domain ZORGEN, purpose SIGNALERING, at T0.
CASES: list[tuple[str, list[Entry], Decision]] = [
    ("no entry at all: default deny", [], D),
    ("category, all domains, permit", [entry(P, domain=ALL)], P),
    ("category, all domains, objection", [entry(D, domain=ALL)], D),
    ("one domain beats all domains (deny)", [entry(P, domain=ALL), entry(D)], D),
    ("one domain beats all domains (permit)", [entry(D, domain=ALL), entry(P)], P),
    ("organisation beats category (deny)", [entry(P), entry(D, org=OWN_GP)], D),
    ("organisation beats category (permit)", [entry(D), entry(P, org=OWN_GP)], P),
    (
        "organisation for all domains beats category for this domain",
        [entry(D), entry(P, org=OWN_GP, domain=ALL)],
        P,
    ),
    (
        "organisation for this domain beats organisation for all",
        [entry(P, org=OWN_GP, domain=ALL), entry(D, org=OWN_GP)],
        D,
    ),
    ("objection beats consent at equal specificity", [entry(P), entry(D)], D),
    ("objection beats consent, order does not matter", [entry(D), entry(P)], D),
    (
        "objection beats consent at equal specificity (organisation, all domains)",
        [entry(P, org=OWN_GP, domain=ALL), entry(D, org=OWN_GP, domain=ALL)],
        D,
    ),
    ("another organisation does not match", [entry(P, org="huisarts-jansen")], D),
    (
        "another organisation's objection leaves the category consent",
        [entry(P), entry(D, org="huisarts-jansen")],
        P,
    ),
    ("another category does not match", [entry(P, category=PartnerType.GGD)], D),
    ("another life domain does not match", [entry(P, domain=LifeDomain.WONEN)], D),
    (
        "another purpose does not match",
        [entry(P, purpose=Purpose.DISCLOSURE_TO_REGIEHOUDER)],
        D,
    ),
    ("another person's consent does not match", [entry(P, subject=STRANGER)], D),
    ("expired consent does not match", [entry(P, days=(-30, -1))], D),
    ("consent not yet valid does not match", [entry(P, days=(1, 30))], D),
    ("valid_until is exclusive", [entry(P, days=(-30, 0))], D),
    ("valid_from is inclusive", [entry(P, days=(0, 30))], P),
    (
        "an expired specific objection lets the general consent through",
        [entry(P, domain=ALL), entry(D, days=(-30, -1))],
        P,
    ),
    (
        "a future specific objection does not count yet",
        [entry(P, domain=ALL), entry(D, days=(5, None))],
        P,
    ),
    ("a revoked consent does not count", [entry(P, state=EntryState.REVOKED)], D),
    ("a pending grant does not count", [entry(P, state=EntryState.GRANT_PENDING)], D),
    (
        "an objection whose revocation is pending still counts",
        [entry(P, domain=ALL), entry(D, state=EntryState.REVOCATION_PENDING)],
        D,
    ),
    (
        "a revoked specific objection lets the general consent through",
        [entry(P, domain=ALL), entry(D, state=EntryState.REVOKED)],
        P,
    ),
]


@pytest.mark.parametrize(("entries", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_precedence_table(entries: list[Entry], expected: Decision) -> None:
    """Each case of the table decides as listed."""
    assert decide(entries, QUERY, T0).decision is expected


def test_specificity_is_a_total_order_on_the_four_shapes() -> None:
    """The four shapes rank 0..3: organisation first, then one life domain."""
    ranks = {
        (org, dom): specificity(
            entry(P, org=OWN_GP if org else None, domain=ZORGEN if dom else ALL)
        )
        for org in (False, True)
        for dom in (False, True)
    }
    assert ranks == {(False, False): 0, (False, True): 1, (True, False): 2, (True, True): 3}


def test_a_permit_names_its_entry_and_the_window_in_which_nothing_changes() -> None:
    """The window ends where the next applicable entry starts, even when that is an objection."""
    general = entry(P, domain=ALL, days=(-10, 100))
    later_objection = entry(D, days=(7, None))
    outcome = decide([general, later_objection], QUERY, T0)
    assert outcome.decision is P and outcome.entry == general
    assert outcome.window_from == T0 - dt.timedelta(days=10)
    assert outcome.window_until == T0 + dt.timedelta(days=7)


def test_a_deny_names_the_objection_that_decided() -> None:
    """An explicit objection is named; a default deny names no entry."""
    objection = entry(D, org=OWN_GP)
    assert decide([entry(P), objection], QUERY, T0).entry == objection
    assert decide([], QUERY, T0).entry is None
