"""Load and validate the judgement's policy files into frozen dataclasses; bad ones refused."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from hub.judgement import policyfile, schemas
from hub.judgement.conditions import NamedRule, Predicate
from hub.judgement.deadlines import WEEKDAYS, WorkingCalendar
from hub.judgement.model import CaseStatus, EscalationLevel, Facts, Outcome
from hub.judgement.policyfile import PolicyDocument
from seinhuis import catalogue as catalogue_module
from seinhuis.catalogue import Catalogue
from seinhuis.vocabulary import LifeDomain, PartnerType, SignalType, Urgency, WithdrawReason

DEFAULT_DIR = Path(__file__).resolve().parent.parent.parent / "policies"

#: The policy files of the judgement, by stem; cases live in policies/cases/<stem>/<rule>/.
FILES = ("matching", "regie", "deadlines", "retention")


@dataclass(frozen=True)
class DuplicateRule:
    """Same partner, same signal type, same subject: merged into one, the higher urgency kept."""

    name: str
    description: str


@dataclass(frozen=True)
class BasisLostRule:
    """What happens to a case whose signals no longer meet any case rule."""

    name: str
    description: str
    close_when_status: frozenset[CaseStatus]
    outcome: Outcome


#: Facts remembered per matching policy (each entry a few hundred bytes).
_FIRED_CACHE = 4096


@dataclass(frozen=True)
class MatchingPolicy:
    window_days: int
    duplicates: DuplicateRule
    case_rules: tuple[NamedRule, ...]
    outreach_rules: tuple[NamedRule, ...]
    basis_lost: BasisLostRule
    # The rules are pure functions of a household's Facts, and only a few Facts occur (most
    # households hold one signal): each is evaluated once per loaded policy.
    _fired: dict[Facts, tuple[tuple[str, ...], tuple[str, ...]]] = field(
        default_factory=dict, init=False, repr=False, compare=False, hash=False
    )

    def fired(self, facts: Facts) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """The case rules that hold for these facts, in order, and the outreach rules that
        hold (only when no case rule does)."""
        found = self._fired.get(facts)
        if found is None:
            values = facts.as_mapping()
            case = tuple(r.name for r in self.case_rules if r.holds(values))
            outreach = () if case else tuple(r.name for r in self.outreach_rules if r.holds(values))
            if len(self._fired) >= _FIRED_CACHE:
                self._fired.clear()
            found = self._fired[facts] = (case, outreach)
        return found


class RegieKind(StrEnum):
    KEEP_EXISTING = "keep_existing"
    RESIDENT_PREFERENCE = "resident_preference"
    DOMAIN_WEIGHT = "domain_weight"
    FALLBACK = "fallback"


@dataclass(frozen=True)
class RegieRule:
    name: str
    description: str
    kind: RegieKind
    respect_capacity: bool
    partner_type: PartnerType | None


@dataclass(frozen=True)
class RegiePolicy:
    rules: tuple[RegieRule, ...]
    domain_weights: Mapping[LifeDomain, Mapping[PartnerType, int]]
    urgency_factor: Mapping[Urgency, int]

    def weight(self, domain: LifeDomain, partner_type: PartnerType) -> int:
        """A partner type's weight for a life domain; absent means 0 (not eligible)."""
        return self.domain_weights.get(domain, {}).get(partner_type, 0)


@dataclass(frozen=True)
class EscalationRule:
    name: str
    description: str
    to: EscalationLevel
    predicate: Predicate

    def holds(self, facts: Mapping[str, int | bool]) -> bool:
        return self.predicate.holds(facts)


@dataclass(frozen=True)
class DeadlinePolicy:
    calendar: WorkingCalendar
    response_days: Mapping[Urgency, int]
    procesregisseur_days: int
    escalation_rules: tuple[EscalationRule, ...]


class WithdrawnAction(StrEnum):
    ERASE = "ERASE"
    KEEP_UNTIL_EXPIRY = "KEEP_UNTIL_EXPIRY"


@dataclass(frozen=True)
class WithdrawnRule:
    name: str
    description: str
    reason: WithdrawReason
    action: WithdrawnAction


@dataclass(frozen=True)
class ClosedCaseRule:
    name: str
    description: str
    reduce_after_months: int


@dataclass(frozen=True)
class RetentionPolicy:
    closed_cases: ClosedCaseRule
    withdrawn: tuple[WithdrawnRule, ...]


@dataclass(frozen=True)
class Policies:
    """Everything the judgement decides by, loaded from one policies folder."""

    matching: MatchingPolicy
    regie: RegiePolicy
    deadlines: DeadlinePolicy
    retention: RetentionPolicy
    catalogue: Catalogue

    @functools.cached_property
    def arrears_types(self) -> frozenset[SignalType]:
        return frozenset(t for t, rule in self.catalogue.signal_types.items() if rule.arrears)


def load(folder: Path = DEFAULT_DIR) -> Policies:
    """Load every policy file of the folder; the first invalid one raises PolicyError."""
    return Policies(
        matching=load_matching(folder / "matching.yaml"),
        regie=load_regie(folder / "regie.yaml"),
        deadlines=load_deadlines(folder / "deadlines.yaml"),
        retention=load_retention(folder / "retention.yaml"),
        catalogue=catalogue_module.load(folder / "catalogue.yaml"),
    )


def rule_names(stem: str, folder: Path = DEFAULT_DIR) -> tuple[str, ...]:
    """The named rules of one policy file, in file order (each needs allow and deny cases)."""
    loaders = {
        "matching": lambda p: _matching_names(load_matching(p)),
        "regie": lambda p: tuple(r.name for r in load_regie(p).rules),
        "deadlines": lambda p: tuple(r.name for r in load_deadlines(p).escalation_rules),
        "retention": lambda p: _retention_names(load_retention(p)),
    }
    return loaders[stem](folder / f"{stem}.yaml")


def _matching_names(m: MatchingPolicy) -> tuple[str, ...]:
    return (
        m.duplicates.name,
        *(r.name for r in m.case_rules),
        *(r.name for r in m.outreach_rules),
        m.basis_lost.name,
    )


def _retention_names(r: RetentionPolicy) -> tuple[str, ...]:
    return (r.closed_cases.name, *(w.name for w in r.withdrawn))


def _open(path: Path, schema: dict[str, Any]) -> PolicyDocument:
    doc = policyfile.read(path)
    policyfile.validate(doc, schema)
    return doc


def _unique_names(doc: PolicyDocument, paths: list[tuple[str | int, ...]]) -> None:
    seen: set[str] = set()
    for path in paths:
        node: Any = doc.data
        for part in path:
            node = node[part]
        if node in seen:
            raise doc.error(path, f"rule name {node!r} is used twice in this file")
        seen.add(node)


def _predicate(doc: PolicyDocument, path: tuple[str | int, ...], spec: dict[str, Any]) -> Predicate:
    if ("when" in spec) == ("any_of" in spec):
        raise doc.error(path, "a rule needs exactly one of 'when' and 'any_of'")
    return Predicate.parse([spec["when"]] if "when" in spec else spec["any_of"])


def _rules(doc: PolicyDocument, section: str) -> tuple[NamedRule, ...]:
    return tuple(
        NamedRule(r["name"], r["description"], _predicate(doc, (section, i), r))
        for i, r in enumerate(doc.data[section])
    )


def load_matching(path: Path) -> MatchingPolicy:
    doc = _open(path, schemas.MATCHING)
    d = doc.data
    _unique_names(
        doc,
        [
            ("duplicates", "name"),
            *((("case_rules", i, "name")) for i in range(len(d["case_rules"]))),
            *((("outreach_rules", i, "name")) for i in range(len(d["outreach_rules"]))),
            ("basis_lost", "name"),
        ],
    )
    lost = d["basis_lost"]
    return MatchingPolicy(
        window_days=d["window_days"],
        duplicates=DuplicateRule(d["duplicates"]["name"], d["duplicates"]["description"]),
        case_rules=_rules(doc, "case_rules"),
        outreach_rules=_rules(doc, "outreach_rules"),
        basis_lost=BasisLostRule(
            name=lost["name"],
            description=lost["description"],
            close_when_status=frozenset(CaseStatus(s) for s in lost["close_when_status"]),
            outcome=Outcome(lost["outcome"]),
        ),
    )


def load_regie(path: Path) -> RegiePolicy:
    doc = _open(path, schemas.REGIE)
    d = doc.data
    _unique_names(doc, [("rules", i, "name") for i in range(len(d["rules"]))])
    rules = []
    for i, r in enumerate(d["rules"]):
        kind = RegieKind(r["kind"])
        if (kind is RegieKind.FALLBACK) != ("partner_type" in r):
            raise doc.error(
                ("rules", i, "partner_type"),
                "a fallback rule names a partner_type, and only a fallback rule does",
            )
        if kind is RegieKind.KEEP_EXISTING and "respect_capacity" in r:
            raise doc.error(
                ("rules", i, "respect_capacity"),
                "an existing regiehouder is kept whatever the load",
            )
        rules.append(
            RegieRule(
                name=r["name"],
                description=r["description"],
                kind=kind,
                respect_capacity=r.get("respect_capacity", kind is not RegieKind.FALLBACK),
                partner_type=PartnerType(r["partner_type"]) if "partner_type" in r else None,
            )
        )
    return RegiePolicy(
        rules=tuple(rules),
        domain_weights={
            LifeDomain(domain): {PartnerType(p): w for p, w in weights.items()}
            for domain, weights in d["domain_weights"].items()
        },
        urgency_factor={Urgency(u): f for u, f in d["urgency_factor"].items()},
    )


def load_deadlines(path: Path) -> DeadlinePolicy:
    doc = _open(path, schemas.DEADLINES)
    d = doc.data
    rules_spec = d["escalation"]["rules"]
    _unique_names(doc, [("escalation", "rules", i, "name") for i in range(len(rules_spec))])
    cal = d["calendar"]
    return DeadlinePolicy(
        calendar=WorkingCalendar(
            country=cal["holidays"],
            weekend=frozenset(WEEKDAYS.index(w) for w in cal["weekend"]),
            also_closed=_dates(doc, ("calendar", "also_closed")),
            open_on=_dates(doc, ("calendar", "open_on")),
        ),
        response_days={Urgency(u): n for u, n in d["response"]["working_days"].items()},
        procesregisseur_days=d["escalation"]["procesregisseur_working_days"],
        escalation_rules=tuple(
            EscalationRule(
                name=r["name"],
                description=r["description"],
                to=EscalationLevel[r["to"]],
                predicate=_predicate(doc, ("escalation", "rules", i), r),
            )
            for i, r in enumerate(rules_spec)
        ),
    )


def _dates(doc: PolicyDocument, path: tuple[str, str]) -> frozenset[dt.date]:
    out = set()
    for i, text in enumerate(doc.data[path[0]].get(path[1], [])):
        try:
            out.add(dt.date.fromisoformat(text))
        except ValueError:
            raise doc.error((*path, i), f"not a date: {text!r}") from None
    return frozenset(out)


def load_retention(path: Path) -> RetentionPolicy:
    doc = _open(path, schemas.RETENTION)
    d = doc.data
    _unique_names(
        doc,
        [("closed_cases", "name"), *(("withdrawn", i, "name") for i in range(len(d["withdrawn"])))],
    )
    reasons: set[str] = set()
    for i, w in enumerate(d["withdrawn"]):
        if w["reason"] in reasons:
            raise doc.error(("withdrawn", i, "reason"), "this reason already has a rule")
        reasons.add(w["reason"])
    closed = d["closed_cases"]
    return RetentionPolicy(
        closed_cases=ClosedCaseRule(
            closed["name"], closed["description"], closed["reduce_after_months"]
        ),
        withdrawn=tuple(
            WithdrawnRule(
                w["name"],
                w["description"],
                WithdrawReason(w["reason"]),
                WithdrawnAction(w["action"]),
            )
            for w in d["withdrawn"]
        ),
    )
