"""Retention: closed cases become figures, signals withdrawn as unjustified are erased."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from hub.judgement.model import Case, EscalationLevel, Outcome
from hub.judgement.policy import RetentionPolicy, WithdrawnAction
from seinhuis.vocabulary import LifeDomain, WithdrawReason


@dataclass(frozen=True)
class CaseFigures:
    """What is left of a closed case after reduction: no household, no reference, no ids,
    no exact dates; fit for an aggregated dashboard only."""

    opened_month: str  # YYYY-MM
    closed_month: str
    outcome: Outcome
    escalation: EscalationLevel
    life_domains: tuple[LifeDomain, ...]
    partners: int
    signals: int


def reduce_due(case: Case, today: dt.date, policy: RetentionPolicy) -> bool:
    """A closed case is reduced once `reduce_after_months` have passed since its closure."""
    if case.closed_on is None:
        return False
    return today >= _add_months(case.closed_on, policy.closed_cases.reduce_after_months)


def figures(case: Case) -> CaseFigures:
    """The non-identifying figures a closed case is reduced to."""
    assert case.outcome is not None and case.closed_on is not None
    return CaseFigures(
        opened_month=case.opened_on.strftime("%Y-%m"),
        closed_month=case.closed_on.strftime("%Y-%m"),
        outcome=case.outcome,
        escalation=case.escalation,
        life_domains=tuple(sorted(case.life_domains)),
        partners=case.summary.partners,
        signals=case.summary.signals,
    )


def withdrawn_action(
    reason: WithdrawReason, policy: RetentionPolicy
) -> tuple[WithdrawnAction, str | None]:
    """What happens to a withdrawn signal, and the rule that says so. Without a rule it is
    erased: keeping anything needs a rule (default deny)."""
    for rule in policy.withdrawn:
        if rule.reason is reason:
            return rule.action, rule.name
    return WithdrawnAction.ERASE, None


def _add_months(day: dt.date, months: int) -> dt.date:
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    for d in (day.day, 30, 29, 28):
        try:
            return dt.date(year, month, d)
        except ValueError:
            continue
    raise AssertionError("unreachable")
