"""Small builders for judgement tests: signals of one household, a registry, a judge call."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence

from hub.households import Household
from hub.judgement import engine, policy
from hub.judgement.decision import Decision
from hub.judgement.model import ActiveSignal, Case, ContactPoint, Coordinator, RegistryView
from hub.judgement.notifications import EscalationNotice, Notification
from seinhuis.vocabulary import PartnerType, SignalType, Urgency

POLICIES = policy.load()
HOME = hashlib.sha256(b"address:home").digest()


def person(label: str) -> bytes:
    return hashlib.sha256(f"person:{label}".encode()).digest()


def signal(
    sid: str,
    partner: str,
    signal_type: SignalType,
    on: dt.date,
    *,
    about: str | None = None,
    urgency: Urgency = Urgency.NORMAAL,
    consent_ok: bool = True,
    disclosure_ok: bool = False,
) -> ActiveSignal:
    """A signal as the catalogue says it is sent: its sender type, life domain and legal basis."""
    rule = POLICIES.catalogue.rule(signal_type)
    (partner_type,) = rule.senders
    return ActiveSignal(
        id=sid.encode(),
        partner_id=partner,
        partner_type=partner_type,
        signal_type=signal_type,
        life_domain=rule.life_domain,
        urgency=urgency,
        legal_basis=rule.legal_basis,
        observed_on=on,
        household=HOME,
        person=person(about) if about else None,
        consent_ok=consent_ok,
        disclosure_ok=disclosure_ok,
    )


def _contact(pid: str, ptype: PartnerType) -> ContactPoint:
    return ContactPoint(pid, ptype, f"{pid}@example.nl")


REGISTRY = RegistryView(
    partners=(
        _contact("school-a", PartnerType.SCHOOL),
        _contact("school-b", PartnerType.SCHOOL),
        _contact("huisarts-1", PartnerType.HUISARTS),
        _contact("woco", PartnerType.WONINGCORPORATIE),
        _contact("energie-a", PartnerType.ENERGIELEVERANCIER),
        _contact("ggd", PartnerType.GGD),
        _contact("wijkteam", PartnerType.SOCIAAL_TEAM),
    ),
    coordinators=(
        Coordinator("school-a", capacity=10, open_cases=2),
        Coordinator("school-b", capacity=10, open_cases=5),
        Coordinator("woco", capacity=5, open_cases=1),
        Coordinator("ggd", capacity=20, open_cases=3),
        Coordinator("wijkteam", capacity=50, open_cases=10),
    ),
)


def household(signals: Sequence[ActiveSignal]) -> Household:
    return Household(
        key=HOME,
        at_institution=False,
        members=frozenset(s.person for s in signals if s.person is not None),
        signal_ids=tuple(s.id for s in signals),
    )


def judge(
    signals: Sequence[ActiveSignal],
    today: dt.date,
    case: Case | None = None,
    *,
    registry: RegistryView = REGISTRY,
    preference: str | None = None,
    on_outreach: frozenset[bytes] = frozenset(),
) -> Decision:
    return engine.evaluate(
        household(signals),
        signals,
        case,
        registry,
        today,
        policies=POLICIES,
        resident_preference=preference,
        on_outreach=on_outreach,
    )


def recipient(notice: Notification) -> str:
    """Who receives a notification: a partner id, or a municipal role."""
    return notice.role.value if isinstance(notice, EscalationNotice) else notice.partner_id
