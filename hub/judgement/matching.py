"""Whether a household's signals make a case: window, duplicate suppression, ordered rules."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from hub.judgement.model import URGENCY_RANK, ActiveSignal, CountedSignal, Facts
from hub.judgement.policy import MatchingPolicy
from seinhuis.vocabulary import SignalType, Urgency


class MatchOutcome(StrEnum):
    NO_CASE = "NO_CASE"
    OUTREACH = "OUTREACH"
    OPEN_CASE = "OPEN_CASE"
    UPDATE_CASE = "UPDATE_CASE"
    BASIS_LOST = "BASIS_LOST"


@dataclass(frozen=True)
class MatchResult:
    """The decision, the rule that decided it (None: nothing held, default deny), every rule
    that applied (all case rules that held; outreach rules only when no case rule did), and the
    facts it was decided on."""

    outcome: MatchOutcome
    rule: str | None
    fired: frozenset[str]
    facts: Facts


def in_window(signal: ActiveSignal, today: dt.date, window_days: int) -> bool:
    """A signal counts towards a new case when observed within the window before today."""
    return signal.observed_on >= today - dt.timedelta(days=window_days)


def suppress_duplicates(signals: Iterable[ActiveSignal]) -> tuple[CountedSignal, ...]:
    """Merge signals of the same partner, signal type and subject; the merged one keeps the
    highest urgency (then the newest observation, then the lowest id)."""
    groups: dict[tuple[str, SignalType, bytes], list[ActiveSignal]] = {}
    for s in signals:
        groups.setdefault((s.partner_id, s.signal_type, s.subject), []).append(s)
    counted = []
    for group in groups.values():
        best = min(
            group, key=lambda s: (-URGENCY_RANK[s.urgency], -s.observed_on.toordinal(), s.id)
        )
        counted.append(CountedSignal(best, tuple(sorted(s.id for s in group))))
    return tuple(sorted(counted, key=lambda c: (c.signal.observed_on, c.signal.id)))


def facts_of(counted: Sequence[CountedSignal], arrears_types: frozenset[SignalType]) -> Facts:
    """Count what the signals amount to: partners, life domains, urgency, creditors, members."""
    signals = [c.signal for c in counted]
    arrears = [s for s in signals if s.signal_type in arrears_types]
    return Facts(
        signals=len(signals),
        partners=len({s.partner_id for s in signals}),
        life_domains=len({s.life_domain for s in signals}),
        urgent_signals=sum(s.urgency is Urgency.HOOG for s in signals),
        arrears_senders=len({s.partner_id for s in arrears}),
        members_with_signals=len({s.person for s in signals if s.person is not None}),
        only_arrears=bool(signals) and len(arrears) == len(signals),
    )


def judge(
    counted: Sequence[CountedSignal],
    policy: MatchingPolicy,
    arrears_types: frozenset[SignalType],
    *,
    has_open_case: bool,
) -> MatchResult:
    """Apply the case rules in order, then the outreach rules; nothing holding means no case.

    With an open case the same rules decide whether the case still has a basis.
    """
    facts = facts_of(counted, arrears_types)
    # Outreach rules only apply where no case rule does.
    case_fired, outreach_fired = policy.fired(facts)
    fired = frozenset(case_fired + outreach_fired)
    if case_fired:
        outcome = MatchOutcome.UPDATE_CASE if has_open_case else MatchOutcome.OPEN_CASE
        return MatchResult(outcome, case_fired[0], fired, facts)
    if has_open_case:
        return MatchResult(MatchOutcome.BASIS_LOST, policy.basis_lost.name, fired, facts)
    if outreach_fired:
        return MatchResult(MatchOutcome.OUTREACH, outreach_fired[0], fired, facts)
    return MatchResult(MatchOutcome.NO_CASE, None, fired, facts)
