"""Choosing a case's regiehouder by the ordered rules of regie.yaml."""

from __future__ import annotations

from dataclasses import dataclass

from hub.judgement.model import CountedSignal, RegistryView
from hub.judgement.notifications import disclosable, hidden_partners
from hub.judgement.policy import RegieKind, RegiePolicy, RegieRule


@dataclass(frozen=True)
class RegieInput:
    """What the choice depends on besides the policy and the registry."""

    signals: tuple[CountedSignal, ...]
    existing: str | None = None  # the open case's current regiehouder
    preference: str | None = None  # the partner the resident asked for
    declined_by: frozenset[str] = frozenset()  # never chosen again for this case
    hidden: frozenset[str] = frozenset()  # partners whose involvement may not be revealed


@dataclass(frozen=True)
class Assignment:
    """The chosen regiehouder and the rule that chose them; (None, None): nobody available."""

    partner_id: str | None
    rule: str | None


def choose(policy: RegiePolicy, registry: RegistryView, given: RegieInput) -> Assignment:
    """The first rule, in file order, that names a regiehouder decides."""
    for rule in policy.rules:
        partner = candidate(rule, policy, registry, given)
        if partner is not None:
            return Assignment(partner, rule.name)
    return Assignment(None, None)


def fired(policy: RegiePolicy, registry: RegistryView, given: RegieInput) -> dict[str, str]:
    """Every rule that would name a regiehouder on its own, and whom (for the policy cases)."""
    out = {}
    for rule in policy.rules:
        partner = candidate(rule, policy, registry, given)
        if partner is not None:
            out[rule.name] = partner
    return out


def candidate(
    rule: RegieRule, policy: RegiePolicy, registry: RegistryView, given: RegieInput
) -> str | None:
    """Whom one rule would name, if anyone."""
    if rule.kind is RegieKind.KEEP_EXISTING:
        return given.existing
    if rule.kind is RegieKind.RESIDENT_PREFERENCE:
        p = given.preference
        return p if p is not None and _can_coordinate(p, rule, registry, given) else None
    if rule.kind is RegieKind.DOMAIN_WEIGHT:
        return _best_by_weight(rule, policy, registry, given)
    # Fallback: the first registered partner of the named type (the municipal social team).
    for contact in sorted(registry.partners, key=lambda c: c.partner_id):
        if contact.partner_type is rule.partner_type and _can_coordinate(
            contact.partner_id, rule, registry, given, need_registration=False
        ):
            return contact.partner_id
    return None


def _can_coordinate(
    partner_id: str,
    rule: RegieRule,
    registry: RegistryView,
    given: RegieInput,
    *,
    need_registration: bool = True,
) -> bool:
    if partner_id in given.declined_by:
        return False
    coordinator = registry.coordinator(partner_id)
    if coordinator is None:
        return not need_registration and registry.contact(partner_id) is not None
    return coordinator.has_room or not rule.respect_capacity


def _best_by_weight(
    rule: RegieRule, policy: RegiePolicy, registry: RegistryView, given: RegieInput
) -> str | None:
    """The coordinator whose partner type weighs most for the household's problems.

    Each counted signal adds its domain's weight for the partner type, times its urgency factor,
    so the most dominant problem weighs most. A score of 0 is not eligible. Ties go to a partner
    already involved, then to the lower load, then to the lower id (deterministic).

    Only signals others may learn of count, and a partner whose involvement is hidden is never
    a candidate: a GP's signal without consent to disclose it must not tip the choice (towards
    the GGD for its care domain, say), or the choice itself would reveal it. The result equals
    the choice made without the hidden signals at all.
    """
    hidden = given.hidden | hidden_partners(given.signals)
    visible = [c for c in given.signals if disclosable(c) and c.signal.partner_id not in hidden]
    involved = {c.signal.partner_id for c in visible}
    ranked = []
    for coordinator in registry.coordinators:
        pid = coordinator.partner_id
        contact = registry.contact(pid)
        if contact is None or pid in hidden:
            continue
        if not _can_coordinate(pid, rule, registry, given):
            continue
        score = sum(
            policy.weight(c.signal.life_domain, contact.partner_type)
            * policy.urgency_factor[c.signal.urgency]
            for c in visible
        )
        if score <= 0:
            continue
        load = coordinator.open_cases / coordinator.capacity if coordinator.capacity else 1.0
        ranked.append((-score, pid not in involved, load, pid))
    return min(ranked)[3] if ranked else None
