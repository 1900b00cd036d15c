"""Every policy rule runs against the allow/deny cases beside it, and every rule has both."""

from __future__ import annotations

from typing import Any

import pytest

from hub.judgement import policy
from hub.judgement.policy import Policies
from tests.policies.casefiles import CASES_DIR, DECISIONS, CaseFile, discover, run

CASES = discover()


@pytest.fixture(scope="module")
def policies() -> Policies:
    return policy.load()


def _holds(actual: Any, want: Any) -> bool:
    """`want` matches `actual`; a mapping need only name the keys it cares about."""
    if isinstance(want, dict):
        return isinstance(actual, dict) and all(
            k in actual and _holds(actual[k], v) for k, v in want.items()
        )
    return bool(actual == want)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_policy_case(case: CaseFile, policies: Policies) -> None:
    """A case under allow/ makes its rule apply, one under deny/ does not; `expect` holds."""
    expect, result = run(case, policies)
    if case.decision == "allow":
        assert case.rule in result.fired, f"{case.id}: rule did not apply ({result.details})"
    else:
        assert case.rule not in result.fired, f"{case.id}: rule applied ({result.details})"
    for key, want in expect.items():
        assert key in result.details, f"{case.id}: unknown expectation {key!r}"
        assert _holds(result.details[key], want), (
            f"{case.id}: {key} is {result.details[key]!r}, expected {want!r}"
        )


def test_there_are_cases() -> None:
    """The case folders are found (a broken glob must not pass silently)."""
    assert len(CASES) >= 4 * 2 * len(policy.FILES)


@pytest.mark.parametrize("stem", policy.FILES)
def test_every_rule_has_allow_and_deny_cases(stem: str) -> None:
    """Each named rule of a policy file has at least one allow and one deny case."""
    missing = [
        f"{stem}/{rule}/{decision}"
        for rule in policy.rule_names(stem)
        for decision in DECISIONS
        if not list((CASES_DIR / stem / rule / decision).glob("*.yaml"))
    ]
    assert missing == []


def test_no_cases_for_rules_that_do_not_exist() -> None:
    """Every case folder names a policy file and one of its rules (no orphans after a rename)."""
    known = {(stem, rule) for stem in policy.FILES for rule in policy.rule_names(stem)}
    found = {(p.parent.name, p.name) for p in CASES_DIR.glob("*/*") if p.is_dir()}
    assert found - known == set()
    stray = [p for p in CASES_DIR.glob("*/*/*") if p.is_dir() and p.name not in DECISIONS]
    assert stray == []
