"""A few weeks of a hub's life, made by the hub's own judge and operator desk on a test clock:
the data the dashboard's tests read (synthetic: random pseudonyms, no identities).

Two weeks before the current one, on its Monday, a school sends 16 urgent signals about 16
children in 16 households (16 cases, each with a regiehouder at once) and the GGD 2 signals
(consent-based, normal urgency: no case). An operator records that 10 cases were taken on
that morning; the other 6 pass their deadline and the judge escalates them to the
procesregisseur on the next Monday, when the operator also closes 5 cases as helped.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass

from hub.domain import ReceivedSignal, Signal, Touched
from hub.judge import Judge
from hub.judgement import policy as policy_module
from hub.judgement.model import Outcome
from hub.operator.desk import Desk
from hub.registry import Registry
from hub.staff import StaffMember
from hub.store import HubStore
from seinhuis.vocabulary import LegalBasis, LifeDomain, PartnerType, SignalType, Urgency

SCHOOL = "school-a"
GGD = "ggd-a"
CASES = 16
TAKEN_ON = 10
CLOSED = 5
GGD_SIGNALS = 2


@dataclass(frozen=True)
class Seeded:
    opened_week: dt.date  # the Monday the cases opened
    escalated: tuple[str, ...]
    taken_on: tuple[str, ...]
    closed: tuple[str, ...]


def _signal(
    partner_id: str,
    partner_type: PartnerType,
    kind: SignalType,
    domain: LifeDomain,
    urgency: Urgency,
    basis: LegalBasis,
    at: dt.datetime,
) -> ReceivedSignal:
    return ReceivedSignal(
        id=os.urandom(16),
        partner_id=partner_id,
        partner_type=partner_type,
        received_at=at,
        signal=Signal(
            signal_type=kind,
            life_domain=domain,
            urgency=urgency,
            legal_basis=basis,
            observed_on=at.date(),
            keep_until=at.date() + dt.timedelta(days=700),
            person_pseudonym=os.urandom(32),
            address_pseudonym=os.urandom(32),
            key_version=1,
            arrears=None,
        ),
    )


def seed(store: HubStore, registry: Registry, operator: StaffMember, today: dt.date) -> Seeded:
    monday = today - dt.timedelta(days=today.weekday())
    opened_week = monday - dt.timedelta(weeks=2)
    start = dt.datetime.combine(opened_week, dt.time(9), dt.UTC)
    now = [start]

    def clock() -> dt.datetime:
        return now[0]

    policies = policy_module.load()
    judge = Judge(store, registry, policies, clock=clock)
    desk = Desk(store, registry, policies, clock=clock)
    for i in range(CASES):
        now[0] = start + dt.timedelta(minutes=i)
        s = _signal(
            SCHOOL,
            PartnerType.SCHOOL,
            SignalType.ZORG_OVER_LEERLING,
            LifeDomain.OPGROEIEN,
            Urgency.HOOG,
            LegalBasis.JEUGDWET_VERWIJSINDEX,
            now[0],
        )
        store.add_batch([s])
        judge.judge([Touched(s.signal.address_pseudonym, s.signal.person_pseudonym)])
    for i in range(GGD_SIGNALS):
        now[0] = start + dt.timedelta(minutes=30 + i)
        s = _signal(
            GGD,
            PartnerType.GGD,
            SignalType.ZORGWEKKEND_GEDRAG,
            LifeDomain.ZORGEN,
            Urgency.NORMAAL,
            LegalBasis.TOESTEMMING,
            now[0],
        )
        store.add_batch([s])
        judge.judge([Touched(s.signal.address_pseudonym, s.signal.person_pseudonym)])
    store.judgements_done([seq for seq, _ in store.pending_judgements(10_000)])
    refs = sorted(c.ref for c in store.list_cases())
    assert len(refs) == CASES, refs
    now[0] = start + dt.timedelta(hours=2)
    taken_on = refs[:TAKEN_ON]
    for ref in taken_on:
        desk.acknowledge(operator, ref)
    now[0] = start + dt.timedelta(weeks=1, hours=1)
    judge.check_deadlines()
    closed = taken_on[:CLOSED]
    for ref in closed:
        desk.close(operator, ref, Outcome.HELPED)
    return Seeded(opened_week, tuple(refs[TAKEN_ON:]), tuple(taken_on), tuple(closed))
