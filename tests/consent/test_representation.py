"""Representation of minors: parents under 12, parent and child from 12, the young alone at 16."""

from __future__ import annotations

import re

import pytest

from consent.model import (
    ChangeKind,
    CheckQuery,
    Decision,
    EntryState,
    Party,
    Pseudonym,
    Purpose,
)
from consent.representation import Actor, RepresentedChild
from seinhuis.errors import FailedPrecondition, InvalidArgument, PermissionDenied
from seinhuis.vocabulary import LifeDomain, PartnerType
from tests.consent.conftest import (
    ADULT,
    CHILD,
    PARENT,
    STRANGER,
    Registry,
    grant_request,
    itself,
    parent_of,
    person,
)

P, D = Decision.PERMIT, Decision.DENY
ACTIVE, PENDING = EntryState.ACTIVE, EntryState.GRANT_PENDING


def allowed(reg: Registry, subject: Pseudonym = CHILD) -> Decision:
    """What a check by a GP for ZORGEN/SIGNALERING decides for the subject now."""
    query = CheckQuery(
        subject, "huisarts-dewit", PartnerType.HUISARTS, LifeDomain.ZORGEN, Purpose.SIGNALERING
    )
    return reg.registry.check(query).decision


#: (case, actor, subject, decision) -> (state, awaiting) or the rule of the PermissionDenied.
GRANTS: list[tuple[str, Actor, Pseudonym, Decision, tuple[EntryState, Party | None] | str]] = [
    ("a parent alone for a child of 8", parent_of(8), CHILD, P, (ACTIVE, None)),
    ("a parent for a child of 11", parent_of(11), CHILD, P, (ACTIVE, None)),
    ("a child of 11 cannot act", itself(11), CHILD, P, "representation.under-12"),
    (
        "a parent for a child of 12 awaits the child",
        parent_of(12),
        CHILD,
        P,
        (PENDING, Party.SUBJECT),
    ),
    ("a child of 15 awaits a parent", itself(15), CHILD, P, (PENDING, Party.PARENT)),
    (
        "a parent's objection for a child of 13 holds at once",
        parent_of(13),
        CHILD,
        D,
        (ACTIVE, None),
    ),
    ("a child's objection at 13 holds at once", itself(13), CHILD, D, (ACTIVE, None)),
    ("a young person of 16 alone", itself(16), CHILD, P, (ACTIVE, None)),
    ("a parent cannot act for a child of 16", parent_of(16), CHILD, P, "representation.from-16"),
    ("a parent cannot object for a child of 17", parent_of(17), CHILD, D, "representation.from-16"),
    ("an adult for themselves", Actor(ADULT, 40), ADULT, P, (ACTIVE, None)),
    ("a stranger is refused", Actor(STRANGER, 40), CHILD, P, "representation.not-represented"),
    (
        "a parent of another child is refused",
        Actor(PARENT, 40, (RepresentedChild(person(9), 8),)),
        CHILD,
        P,
        "representation.not-represented",
    ),
    (
        "a parent cannot act for another adult",
        parent_of(8),
        ADULT,
        P,
        "representation.not-represented",
    ),
]


@pytest.mark.parametrize(
    ("actor", "subject", "decision", "expected"),
    [c[1:] for c in GRANTS],
    ids=[c[0] for c in GRANTS],
)
def test_who_may_grant(
    reg: Registry,
    actor: Actor,
    subject: Pseudonym,
    decision: Decision,
    expected: tuple[EntryState, Party | None] | str,
) -> None:
    """Each case records the listed state, or is refused naming the listed rule."""
    target = subject
    request = grant_request(target, decision=decision)
    if isinstance(expected, str):
        before = reg.snapshot(target)
        with pytest.raises(PermissionDenied, match=re.escape(f"rule {expected}")):
            reg.registry.grant(actor, request)
        assert reg.snapshot(target) == before
    else:
        entry = reg.registry.grant(actor, request)
        assert (entry.state, entry.awaiting) == expected


def test_consent_for_12_to_15_counts_once_parent_and_child_agree(reg: Registry) -> None:
    """The parent's grant waits; the child's identical grant makes it count; both are audited."""
    pending = reg.registry.grant(parent_of(13), grant_request())
    assert allowed(reg) is D
    reg.clock.advance(hours=2)
    agreed = reg.registry.grant(itself(13), grant_request())
    assert agreed.id == pending.id and agreed.state is ACTIVE and agreed.awaiting is None
    assert allowed(reg) is P
    history = reg.registry.history(itself(13), CHILD)
    assert [(c.kind, c.party, c.actor, c.effective) for c in history] == [
        (ChangeKind.GRANT_REQUESTED, Party.PARENT, PARENT, False),
        (ChangeKind.GRANTED, Party.SUBJECT, CHILD, True),
    ]
    assert history[1].at == reg.clock.now


def test_a_parent_can_confirm_the_childs_pending_grant_by_id(reg: Registry) -> None:
    """confirm(entry_id) is the same as making the identical grant."""
    pending = reg.registry.grant(itself(14), grant_request())
    confirmed = reg.registry.confirm(parent_of(14), pending.id)
    assert confirmed.state is ACTIVE and allowed(reg) is P


def test_only_a_pending_grant_can_be_confirmed(reg: Registry) -> None:
    """Confirming an entry in force, or a withdrawn one, is refused naming the rule."""
    entry = reg.registry.grant(parent_of(8), grant_request())
    with pytest.raises(FailedPrecondition, match=re.escape("rule confirm.not-pending")):
        reg.registry.confirm(parent_of(8), entry.id)


def test_repeating_ones_own_pending_grant_changes_nothing(reg: Registry) -> None:
    """A second parent's (or the same parent's) identical grant still awaits the child."""
    first = reg.registry.grant(parent_of(13), grant_request())
    other_parent = parent_of(13, parent=person(8))
    again = reg.registry.grant(other_parent, grant_request())
    assert again == first
    assert len(reg.store.changes_for(CHILD)) == 1


def test_a_child_who_turned_16_completes_their_own_pending_grant(reg: Registry) -> None:
    """At 16 the young person decides alone, pending grants included."""
    reg.registry.grant(itself(15), grant_request())
    assert reg.registry.grant(itself(16), grant_request()).state is ACTIVE


def test_revoking_an_objection_of_a_13_year_old_needs_both(reg: Registry) -> None:
    """The objection keeps counting until the other party revokes it too."""
    general = grant_request(life_domain=None)
    reg.registry.grant(parent_of(13), general)
    reg.registry.grant(itself(13), general)
    objection = reg.registry.grant(itself(13), grant_request(decision=D))
    assert allowed(reg) is D

    asked = reg.registry.revoke(parent_of(13), objection.id)
    assert (asked.state, asked.awaiting) == (EntryState.REVOCATION_PENDING, Party.SUBJECT)
    assert allowed(reg) is D
    done = reg.registry.revoke(itself(13), objection.id)
    assert done.state is EntryState.REVOKED and allowed(reg) is P


def test_revoking_consent_of_a_13_year_old_takes_either_alone(reg: Registry) -> None:
    """Narrowing needs one of the two: the child's revocation holds at once."""
    entry = reg.registry.grant(parent_of(13), grant_request())
    reg.registry.grant(itself(13), grant_request())
    assert reg.registry.revoke(itself(13), entry.id).state is EntryState.REVOKED
    assert allowed(reg) is D


def test_either_party_may_withdraw_a_pending_grant(reg: Registry) -> None:
    """A withdrawn pending grant is revoked; it never counted, so it is no effective change."""
    pending = reg.registry.grant(parent_of(13), grant_request())
    withdrawn = reg.registry.revoke(itself(13), pending.id)
    assert withdrawn.state is EntryState.REVOKED
    assert reg.store.changes_after(0, effective_only=True) == []


@pytest.mark.parametrize(
    ("actor", "rule"),
    [
        (Actor(STRANGER, 40), "representation.not-represented"),
        (parent_of(16), "representation.from-16"),
        (itself(10), "representation.under-12"),
    ],
    ids=["stranger", "parent of a 16-year-old", "child of 10"],
)
def test_who_may_not_revoke_or_list(reg: Registry, actor: Actor, rule: str) -> None:
    """Revoking and listing follow the same representation rules as granting."""
    entry = reg.registry.grant(parent_of(8), grant_request())
    before = reg.snapshot(CHILD)
    with pytest.raises(PermissionDenied, match=re.escape(f"rule {rule}")):
        reg.registry.revoke(actor, entry.id)
    with pytest.raises(PermissionDenied, match=re.escape(f"rule {rule}")):
        reg.registry.list_entries(actor, CHILD)
    assert reg.snapshot(CHILD) == before


def test_a_child_may_appear_only_once_and_never_as_the_actor() -> None:
    """Contradictory representation facts are refused as input, not guessed at."""
    with pytest.raises(InvalidArgument, match=r"actor\.children"):
        Actor(PARENT, 40, (RepresentedChild(CHILD, 8), RepresentedChild(CHILD, 9)))
    with pytest.raises(InvalidArgument, match=r"actor\.children"):
        Actor(PARENT, 40, (RepresentedChild(PARENT, 8),))
    with pytest.raises(InvalidArgument, match=r"actor\.age"):
        Actor(PARENT, 400)
