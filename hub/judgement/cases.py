"""Policy cases: running a policies folder's allow/deny cases against its rules.

Every named rule in matching.yaml, regie.yaml, deadlines.yaml and retention.yaml has cases beside
it, in `cases/<file>/<rule>/<allow|deny>/*.yaml` (policies/cases/README.md). A case file holds
`description`, `input` and an optional `expect`. It sits under allow/ when its rule applies to
the input (fires, names a regiehouder, escalates, erases...), under deny/ when it does not.
`expect` pins further details of the decision. `check` runs a whole folder: what `seinhuis
policies check` and tests/policies run. Pure: the only input besides the files is the `today`
each case names.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hub.households import Household
from hub.judgement import assignment, engine, lifecycle, policy, policyfile, retention
from hub.judgement.deadlines import response_deadline
from hub.judgement.decision import AddToOutreach, CloseCase
from hub.judgement.model import (
    ActiveSignal,
    Case,
    CaseStatus,
    ContactPoint,
    Coordinator,
    EscalationLevel,
    Facts,
    Outcome,
    RegistryView,
)
from hub.judgement.notifications import hidden_partners
from hub.judgement.policy import DEFAULT_DIR, Policies
from hub.judgement.policyfile import read
from seinhuis import catalogue
from seinhuis.vocabulary import LifeDomain, PartnerType, SignalType, Urgency, WithdrawReason

CASES_DIR = DEFAULT_DIR / "cases"
HOUSEHOLD = b"household-under-test"
DECISIONS = ("allow", "deny")


@dataclass(frozen=True)
class CaseFile:
    stem: str
    rule: str
    decision: str
    path: Path

    @property
    def id(self) -> str:
        return f"{self.stem}/{self.rule}/{self.decision}/{self.path.stem}"


def discover(root: Path = CASES_DIR) -> list[CaseFile]:
    return [
        CaseFile(p.parts[-4], p.parts[-3], p.parts[-2], p)
        for p in sorted(root.glob("*/*/*/*.yaml"))
        if p.parts[-2] in DECISIONS
    ]


@dataclass(frozen=True)
class Result:
    """What running a case gave: the rules that applied, and details to compare with `expect`."""

    fired: frozenset[str]
    details: dict[str, Any]


def run(case: CaseFile, policies: Policies) -> tuple[dict[str, Any], Result]:
    data = read(case.path).data
    _only(data, {"description", "input", "expect"}, "case file")
    if not isinstance(data.get("description"), str):
        raise ValueError(f"{case.path}: a case needs a description")
    given = data.get("input") or {}
    runner = {
        "matching": _matching,
        "regie": _regie,
        "deadlines": _deadlines,
        "retention": _retention,
    }[case.stem]
    return data.get("expect") or {}, runner(given, policies)


def _only(d: dict[str, Any], allowed: set[str], what: str) -> None:
    extra = set(d) - allowed
    if extra:
        raise ValueError(f"{what}: unknown keys {sorted(extra)}")


def _date(v: Any) -> dt.date:
    return dt.date.fromisoformat(str(v))


def _bytes(label: str) -> bytes:
    return hashlib.sha256(label.encode()).digest()


def signals_of(given: dict[str, Any], policies: Policies, today: dt.date) -> list[ActiveSignal]:
    out = []
    keys = {
        "id",
        "partner",
        "partner_type",
        "type",
        "urgency",
        "observed_on",
        "person",
        "consent_ok",
        "disclosure_ok",
        "life_domain",
    }
    for i, s in enumerate(given.get("signals", [])):
        _only(s, keys, f"signal {i}")
        signal_type = SignalType(s["type"])
        rule = policies.catalogue.rule(signal_type)
        if "partner_type" in s:
            partner_type = PartnerType(s["partner_type"])
        else:
            (partner_type,) = rule.senders
        out.append(
            ActiveSignal(
                id=str(s.get("id", f"s{i + 1}")).encode(),
                partner_id=s["partner"],
                partner_type=partner_type,
                signal_type=signal_type,
                life_domain=LifeDomain(s.get("life_domain", rule.life_domain)),
                urgency=Urgency(s.get("urgency", "NORMAAL")),
                legal_basis=rule.legal_basis,
                observed_on=_date(s.get("observed_on", today)),
                household=HOUSEHOLD,
                person=_bytes(s["person"]) if "person" in s else None,
                consent_ok=bool(s.get("consent_ok", True)),
                disclosure_ok=bool(s.get("disclosure_ok", False)),
            )
        )
    return out


def registry_of(given: dict[str, Any], signals: list[ActiveSignal]) -> RegistryView:
    """Partners named in `registry` (with capacity: able to coordinate), plus every sender."""
    partners: dict[str, ContactPoint] = {}
    coordinators = []
    for p in given.get("registry", []):
        _only(p, {"id", "type", "capacity", "open_cases"}, "registry entry")
        partners[p["id"]] = ContactPoint(p["id"], PartnerType(p["type"]), f"team {p['id']}")
        if "capacity" in p:
            coordinators.append(Coordinator(p["id"], p["capacity"], p.get("open_cases", 0)))
    for s in signals:
        partners.setdefault(
            s.partner_id, ContactPoint(s.partner_id, s.partner_type, f"team {s.partner_id}")
        )
    return RegistryView(tuple(partners.values()), tuple(coordinators))


def _existing_case(given: dict[str, Any], signals: list[ActiveSignal]) -> Case | None:
    spec = given.get("case")
    if spec is None:
        return None
    _only(spec, {"status", "signals", "regiehouder", "opened_on"}, "case")
    ids = frozenset(str(i).encode() for i in spec.get("signals", []))
    in_case = [s for s in signals if s.id in ids]
    status = CaseStatus(spec["status"])
    return Case(
        id="C-test",
        household=HOUSEHOLD,
        status=status,
        opened_on=_date(spec.get("opened_on", "2026-01-05")),
        signal_ids=ids,
        involved=frozenset(s.partner_id for s in in_case),
        summary=Facts(signals=len(in_case)),
        regiehouder=spec.get("regiehouder"),
        outcome=Outcome.HELPED if status is CaseStatus.CLOSED else None,
        closed_on=_date(spec.get("opened_on", "2026-01-05"))
        if status is CaseStatus.CLOSED
        else None,
    )


def _matching(given: dict[str, Any], policies: Policies) -> Result:
    _only(given, {"today", "signals", "case", "registry"}, "input")
    today = _date(given["today"])
    signals = signals_of(given, policies, today)
    household = Household(HOUSEHOLD, False, frozenset(), tuple(s.id for s in signals))
    decision = engine.evaluate(
        household,
        signals,
        _existing_case(given, signals),
        registry_of(given, signals),
        today,
        policies=policies,
    )
    assert decision.match is not None
    counted = engine.counting_signals(signals, _existing_case(given, signals), today, policies)
    fired = set(decision.match.fired)
    if any(len(c.merged_ids) > 1 for c in counted):
        fired.add(policies.matching.duplicates.name)
    closing = [a for a in decision.actions if isinstance(a, CloseCase)]
    if closing and closing[0].rule == policies.matching.basis_lost.name:
        fired.add(policies.matching.basis_lost.name)
    details = {
        "outcome": decision.match.outcome.value,
        "rule": decision.match.rule,
        "facts": decision.match.facts.as_mapping(),
        "fired": sorted(decision.match.fired),
        "case_status": decision.case.status.value if decision.case else None,
        "outreach": any(isinstance(a, AddToOutreach) for a in decision.actions),
        "kept_urgency": sorted(c.signal.urgency.value for c in counted),
    }
    return Result(frozenset(fired), details)


def _regie(given: dict[str, Any], policies: Policies) -> Result:
    _only(
        given,
        {
            "today",
            "signals",
            "registry",
            "existing_regiehouder",
            "resident_preference",
            "declined_by",
        },
        "input",
    )
    today = _date(given.get("today", "2026-03-02"))
    signals = signals_of(given, policies, today)
    counted = engine.counting_signals(signals, None, today, policies)
    regie_input = assignment.RegieInput(
        signals=counted,
        existing=given.get("existing_regiehouder"),
        preference=given.get("resident_preference"),
        declined_by=frozenset(given.get("declined_by", [])),
        hidden=hidden_partners(counted),
    )
    registry = registry_of(given, signals)
    chosen = assignment.choose(policies.regie, registry, regie_input)
    fired = assignment.fired(policies.regie, registry, regie_input)
    return Result(
        frozenset(fired), {"regiehouder": chosen.partner_id, "rule": chosen.rule, "by_rule": fired}
    )


def _deadlines(given: dict[str, Any], policies: Policies) -> Result:
    _only(given, {"today", "case"}, "input")
    today = _date(given["today"])
    spec = given["case"]
    _only(
        spec,
        {
            "status",
            "assigned_on",
            "urgency",
            "life_domains",
            "members_with_signals",
            "escalation",
            "escalated_on",
            "regiehouder",
            "declined_by",
        },
        "case",
    )
    pol = policies.deadlines
    urgency = Urgency(spec.get("urgency", "NORMAAL"))
    deadline = (
        response_deadline(
            pol.calendar, dict(pol.response_days), _date(spec["assigned_on"]), urgency
        )
        if "assigned_on" in spec
        else None
    )
    escalated_on = _date(spec["escalated_on"]) if "escalated_on" in spec else None
    case = Case(
        id="C-test",
        household=HOUSEHOLD,
        status=CaseStatus(spec["status"]),
        opened_on=_date(spec.get("assigned_on", given["today"])),
        signal_ids=frozenset(),
        involved=frozenset(),
        summary=Facts(
            signals=1,
            partners=1,
            life_domains=spec.get("life_domains", 1),
            urgent_signals=1 if urgency is Urgency.HOOG else 0,
            members_with_signals=spec.get("members_with_signals", 1),
        ),
        regiehouder=spec.get("regiehouder"),
        deadline=deadline,
        escalation=EscalationLevel[spec.get("escalation", "NONE")],
        escalated_on=escalated_on,
        escalation_deadline=(
            pol.calendar.add_working_days(escalated_on, pol.procesregisseur_days)
            if escalated_on
            else None
        ),
        declined_by=frozenset(spec.get("declined_by", [])),
    )
    due = lifecycle.escalation_due(case, today, pol)
    return Result(
        frozenset(due.fired if due else ()),
        {
            "deadline": str(deadline) if deadline else None,
            "escalation_deadline": str(case.escalation_deadline)
            if case.escalation_deadline
            else None,
            "escalate_to": due.to.name if due else None,
            "rule": due.rule if due else None,
        },
    )


def _retention(given: dict[str, Any], policies: Policies) -> Result:
    _only(given, {"today", "case", "withdraw_reason"}, "input")
    fired: set[str] = set()
    details: dict[str, Any] = {}
    if "case" in given:
        spec = given["case"]
        _only(spec, {"opened_on", "closed_on", "outcome", "life_domains"}, "case")
        case = Case(
            id="C-test",
            household=HOUSEHOLD,
            status=CaseStatus.CLOSED,
            opened_on=_date(spec["opened_on"]),
            signal_ids=frozenset({b"s1", b"s2"}),
            involved=frozenset({"a", "b"}),
            summary=Facts(signals=2, partners=2),
            life_domains=frozenset(LifeDomain(d) for d in spec.get("life_domains", [])),
            outcome=Outcome(spec["outcome"]),
            closed_on=_date(spec["closed_on"]),
        )
        if retention.reduce_due(case, _date(given["today"]), policies.retention):
            fired.add(policies.retention.closed_cases.name)
            figures = retention.figures(case)
            details["figures"] = {
                "opened_month": figures.opened_month,
                "closed_month": figures.closed_month,
                "outcome": figures.outcome.value,
                "life_domains": [d.value for d in figures.life_domains],
            }
    if "withdraw_reason" in given:
        action, rule = retention.withdrawn_action(
            WithdrawReason(given["withdraw_reason"]), policies.retention
        )
        details["action"] = action.value
        if rule is not None:
            fired.add(rule)
    return Result(frozenset(fired), details)


# --- checking a folder ----------------------------------------------------------------------


def holds(actual: Any, want: Any) -> bool:
    """`want` matches `actual`; a mapping need only name the keys it cares about."""
    if isinstance(want, dict):
        return isinstance(actual, dict) and all(
            k in actual and holds(actual[k], v) for k, v in want.items()
        )
    return bool(actual == want)


def verdict(case: CaseFile, policies: Policies) -> str | None:
    """Why a case fails, or None when it passes: a case under allow/ makes its rule apply, one
    under deny/ does not, and every detail it pins in `expect` holds."""
    expect, result = run(case, policies)
    if case.decision == "allow" and case.rule not in result.fired:
        return f"the rule did not apply ({result.details})"
    if case.decision == "deny" and case.rule in result.fired:
        return f"the rule applied ({result.details})"
    for key, want in expect.items():
        if key not in result.details:
            return f"expect: unknown expectation {key!r}"
        if not holds(result.details[key], want):
            return f"expect: {key} is {result.details[key]!r}, expected {want!r}"
    return None


def missing_cases(stem: str, folder: Path = DEFAULT_DIR) -> list[str]:
    """`file/rule/decision` of each rule of a policy file without an allow or a deny case."""
    root = folder / "cases"
    return [
        f"{stem}/{rule}/{decision}"
        for rule in policy.rule_names(stem, folder)
        for decision in DECISIONS
        if not list((root / stem / rule / decision).glob("*.yaml"))
    ]


def stray_folders(folder: Path = DEFAULT_DIR) -> list[str]:
    """Case folders that name no policy file and rule of it (left after a rename), and folders
    other than allow/ and deny/ beside the cases."""
    root = folder / "cases"
    known = {(stem, rule) for stem in policy.FILES for rule in policy.rule_names(stem, folder)}
    found = sorted(p for p in root.glob("*/*") if p.is_dir())
    orphans = [f"{p.parent.name}/{p.name}" for p in found if (p.parent.name, p.name) not in known]
    odd = [
        f"{p.parent.parent.name}/{p.parent.name}/{p.name}"
        for p in sorted(root.glob("*/*/*"))
        if p.is_dir() and p.name not in DECISIONS
    ]
    return orphans + odd


@dataclass(frozen=True)
class Failure:
    """A case that failed (`what` is its id), or a rule or folder that is wrong."""

    what: str
    reason: str
    path: Path | None = None


@dataclass(frozen=True)
class CheckReport:
    rules: int
    cases: int
    failures: tuple[Failure, ...]

    @property
    def ok(self) -> bool:
        return not self.failures


def check(folder: Path = DEFAULT_DIR) -> CheckReport:
    """Load a policies folder as the hub does and run every case in its cases/ folder.

    A malformed policy file raises PolicyError (file, line, field). Failing cases, a rule
    without an allow and a deny case, and case folders for rules that do not exist are failures.
    """
    # The catalogue's own loader names file and field; read it as a policy file first to name
    # the line as well.
    policyfile.validate(policyfile.read(folder / "catalogue.yaml"), catalogue.SCHEMA)
    policies = policy.load(folder)
    cases = discover(folder / "cases")
    failures: list[Failure] = []
    for case in cases:
        try:
            reason = verdict(case, policies)
        except Exception as exc:  # a malformed case file is that case's failure, not a crash
            reason = f"cannot run: {type(exc).__name__}: {exc}"
        if reason is not None:
            failures.append(Failure(case.id, reason, case.path))
    for stem in policy.FILES:
        failures += [
            Failure(gap, "no case here: every rule needs an allow and a deny case")
            for gap in missing_cases(stem, folder)
        ]
    failures += [
        Failure(stray, "not a rule of a policy file (or not allow/ or deny/)")
        for stray in stray_folders(folder)
    ]
    rules = sum(len(policy.rule_names(stem, folder)) for stem in policy.FILES)
    return CheckReport(rules=rules, cases=len(cases), failures=tuple(failures))
