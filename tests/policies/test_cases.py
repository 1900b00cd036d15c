"""Every policy rule runs against the allow/deny cases beside it, and every rule has both.

The runner is hub.judgement.cases, the same one `seinhuis policies check` uses.
"""

from __future__ import annotations

import pytest

from hub.judgement import policy
from hub.judgement.cases import CaseFile, discover, missing_cases, stray_folders, verdict
from hub.judgement.policy import Policies

CASES = discover()


@pytest.fixture(scope="module")
def policies() -> Policies:
    return policy.load()


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_policy_case(case: CaseFile, policies: Policies) -> None:
    """A case under allow/ makes its rule apply, one under deny/ does not; `expect` holds."""
    assert verdict(case, policies) is None, case.id


def test_there_are_cases() -> None:
    """The case folders are found (a broken glob must not pass silently)."""
    assert len(CASES) >= 4 * 2 * len(policy.FILES)


@pytest.mark.parametrize("stem", policy.FILES)
def test_every_rule_has_allow_and_deny_cases(stem: str) -> None:
    """Each named rule of a policy file has at least one allow and one deny case."""
    assert missing_cases(stem) == []


def test_no_cases_for_rules_that_do_not_exist() -> None:
    """Every case folder names a policy file and one of its rules (no orphans after a rename),
    and holds only allow/ and deny/."""
    assert stray_folders() == []
