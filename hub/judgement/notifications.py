"""What each party learns about a case, as data: own signals, regiehouder, deadline, codes.

Partners learn only what they need (rule 10): the case reference, their own signal ids, the
regiehouder's contact point and the deadline. The regiehouder (and a procesregisseur) also learn
the other involved partners' contact points and life domains, never a reason or signal type,
and never a partner whose only signals rest on consent that does not allow disclosure (a GP's,
for instance). Senders learn how a case ended as an outcome code only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from hub.judgement.model import (
    Case,
    ContactPoint,
    CountedSignal,
    EscalationLevel,
    Outcome,
    RegistryView,
)
from seinhuis.vocabulary import LegalBasis, LifeDomain, PartnerType

#: Partner types whose involvement is never revealed without the resident's consent to it,
#: whatever legal basis a municipality's catalogue gives their signals (medical secrecy).
ALWAYS_CONSENT_GATED = frozenset({PartnerType.HUISARTS})


class NoticeKind(StrEnum):
    CASE_OPENED = "CASE_OPENED"  # you are involved in a case (news to you)
    CASE_UPDATED = "CASE_UPDATED"  # your signals, the regiehouder or the deadline changed
    CASE_CLOSED = "CASE_CLOSED"  # the outcome, as a code
    OUTREACH = "OUTREACH"  # your signal went to the outreach list, not to a case
    REGIE_ASSIGNED = "REGIE_ASSIGNED"  # to the regiehouder: you coordinate this case
    REVIEW = "REVIEW"  # to the regiehouder: the case lost its basis, decide on it
    ESCALATED = "ESCALATED"  # to the procesregisseur or the bestuurder


class Role(StrEnum):
    """Municipal roles that receive escalations (not partners)."""

    PROCESREGISSEUR = "PROCESREGISSEUR"
    BESTUURDER = "BESTUURDER"


ROLE_OF_LEVEL = {
    EscalationLevel.PROCESREGISSEUR: Role.PROCESREGISSEUR,
    EscalationLevel.BESTUURDER: Role.BESTUURDER,
}


@dataclass(frozen=True)
class InvolvedPartner:
    """Another partner in the case: how to reach it and the life domains it signalled in."""

    contact: ContactPoint
    life_domains: tuple[LifeDomain, ...]


@dataclass(frozen=True)
class PartnerNotice:
    """What an involved partner learns."""

    partner_id: str
    kind: NoticeKind
    case_id: str | None
    signal_ids: tuple[bytes, ...]  # its own, never another partner's
    regiehouder: ContactPoint | None = None
    deadline: dt.date | None = None
    outcome: Outcome | None = None


@dataclass(frozen=True)
class RegiehouderBriefing:
    """What the regiehouder learns: the notice plus the disclosable involved partners."""

    partner_id: str
    kind: NoticeKind
    case_id: str
    signal_ids: tuple[bytes, ...]
    deadline: dt.date | None
    involved: tuple[InvolvedPartner, ...]
    escalation: EscalationLevel
    outcome: Outcome | None = None


@dataclass(frozen=True)
class EscalationNotice:
    """What a procesregisseur or bestuurder learns when a case reaches them."""

    role: Role
    kind: NoticeKind
    case_id: str
    level: EscalationLevel
    rule: str
    regiehouder: ContactPoint | None
    involved: tuple[InvolvedPartner, ...]
    deadline: dt.date | None


Notification = PartnerNotice | RegiehouderBriefing | EscalationNotice


def disclosable(c: CountedSignal) -> bool:
    """Whether others may learn that this signal's sender is involved."""
    s = c.signal
    if s.partner_type in ALWAYS_CONSENT_GATED or s.legal_basis is LegalBasis.TOESTEMMING:
        return s.disclosure_ok
    return True


def hidden_partners(counted: Iterable[CountedSignal]) -> frozenset[str]:
    """Partners none of whose signals may be disclosed to others."""
    counted = list(counted)
    shown = {c.signal.partner_id for c in counted if disclosable(c)}
    return frozenset(c.signal.partner_id for c in counted) - shown


def own_ids(counted: Iterable[CountedSignal], partner_id: str) -> tuple[bytes, ...]:
    return tuple(
        sorted(i for c in counted if c.signal.partner_id == partner_id for i in c.merged_ids)
    )


def involved_view(
    counted: Sequence[CountedSignal], registry: RegistryView, *, leave_out: str | None
) -> tuple[InvolvedPartner, ...]:
    """The other partners the regiehouder may see, with the life domains of their disclosable
    signals only."""
    domains: dict[str, set[LifeDomain]] = {}
    types: dict[str, PartnerType] = {}
    for c in counted:
        pid = c.signal.partner_id
        if pid == leave_out or not disclosable(c):
            continue
        domains.setdefault(pid, set()).add(c.signal.life_domain)
        types[pid] = c.signal.partner_type
    out = []
    for pid in sorted(domains):
        contact = registry.contact(pid) or ContactPoint(pid, types[pid])
        out.append(InvolvedPartner(contact, tuple(sorted(domains[pid]))))
    return tuple(out)


def partner_notice(
    case: Case,
    counted: Sequence[CountedSignal],
    registry: RegistryView,
    partner_id: str,
    kind: NoticeKind,
) -> PartnerNotice:
    regie = registry.contact(case.regiehouder) if case.regiehouder else None
    return PartnerNotice(
        partner_id=partner_id,
        kind=kind,
        case_id=case.id,
        signal_ids=own_ids(counted, partner_id),
        regiehouder=regie,
        deadline=case.deadline,
        outcome=case.outcome if kind is NoticeKind.CASE_CLOSED else None,
    )


def briefing(
    case: Case, counted: Sequence[CountedSignal], registry: RegistryView, kind: NoticeKind
) -> RegiehouderBriefing:
    assert case.regiehouder is not None
    return RegiehouderBriefing(
        partner_id=case.regiehouder,
        kind=kind,
        case_id=case.id,
        signal_ids=own_ids(counted, case.regiehouder),
        deadline=case.deadline,
        involved=involved_view(counted, registry, leave_out=case.regiehouder),
        escalation=case.escalation,
        outcome=case.outcome if kind is NoticeKind.CASE_CLOSED else None,
    )


def escalation_notices(
    case: Case,
    counted: Sequence[CountedSignal],
    registry: RegistryView,
    *,
    since: EscalationLevel,
    rule: str,
    kind: NoticeKind = NoticeKind.ESCALATED,
) -> tuple[EscalationNotice, ...]:
    """One notice per role from the level above `since` up to the case's level."""
    regie = registry.contact(case.regiehouder) if case.regiehouder else None
    involved = involved_view(counted, registry, leave_out=None)
    return tuple(
        EscalationNotice(
            role=ROLE_OF_LEVEL[level],
            kind=kind,
            case_id=case.id,
            level=case.escalation,
            rule=rule,
            regiehouder=regie,
            involved=involved,
            deadline=case.escalation_deadline,
        )
        for level in EscalationLevel
        if since < level <= case.escalation
    )


def review_notice(
    case: Case, counted: Sequence[CountedSignal], registry: RegistryView, *, rule: str
) -> EscalationNotice:
    """A case without regiehouder lost its basis: the role overseeing it (else the
    procesregisseur) decides what happens to it."""
    level = max(case.escalation, EscalationLevel.PROCESREGISSEUR)
    return EscalationNotice(
        role=ROLE_OF_LEVEL[level],
        kind=NoticeKind.REVIEW,
        case_id=case.id,
        level=case.escalation,
        rule=rule,
        regiehouder=None,
        involved=involved_view(counted, registry, leave_out=None),
        deadline=case.escalation_deadline,
    )


def to_partners(
    case: Case,
    counted: Sequence[CountedSignal],
    registry: RegistryView,
    kinds: dict[str, NoticeKind],
) -> tuple[Notification, ...]:
    """Notices for the given partners; the regiehouder gets its briefing instead."""
    out: list[Notification] = []
    for pid in sorted(kinds):
        if pid == case.regiehouder:
            out.append(briefing(case, counted, registry, kinds[pid]))
        else:
            out.append(partner_notice(case, counted, registry, pid, kinds[pid]))
    return tuple(out)
