"""Policy files are validated at load; a malformed one is refused naming file, line and field."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest

from hub.judgement import policy
from hub.judgement.model import Facts
from hub.judgement.policyfile import PolicyError
from seinhuis.errors import ConfigError

FILES = ("catalogue.yaml", *(f"{stem}.yaml" for stem in policy.FILES))


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A copy of the shipped policy files, to spoil one at a time."""
    for name in FILES:
        shutil.copy(policy.DEFAULT_DIR / name, tmp_path / name)
    return tmp_path


def test_the_shipped_policies_load() -> None:
    """The policies in policies/ load, and each judgement file has named rules."""
    loaded = policy.load()
    assert loaded.matching.window_days == 180
    assert all(policy.rule_names(stem) for stem in policy.FILES)


def test_a_policy_remembers_which_rules_facts_fire_but_an_edited_copy_asks_again() -> None:
    """The rules are evaluated once per distinct Facts; a copy with other rules does not reuse
    the original's answers."""
    matching = policy.load().matching
    two_partners = Facts(signals=2, partners=2, life_domains=2)
    case_rules, outreach_rules = matching.fired(two_partners)
    assert case_rules and not outreach_rules
    assert matching.fired(two_partners) == (case_rules, outreach_rules)
    assert matching.fired(Facts(signals=1, partners=1, life_domains=1)) == ((), ())
    without_case_rules = dataclasses.replace(matching, case_rules=())
    assert without_case_rules.fired(two_partners)[0] == ()


# (file, text to replace, replacement, field named, text on the line named; the last occurrence)
SPOILED = [
    ("matching.yaml", "window_days: 180", "window_days: -3", "window_days", "window_days: -3"),
    (
        "matching.yaml",
        "when: {min_partners: 2}",
        "when: {min_partnres: 2}",
        "case_rules[2].when.min_partnres",
        "min_partnres",
    ),
    ("matching.yaml", "  keep: highest_urgency\n", "", "duplicates.keep", "duplicates:"),
    (
        "matching.yaml",
        "  - name: two_domains",
        "  - name: two_partners",
        "case_rules[3].name",
        "name: two_partners",
    ),
    (
        "regie.yaml",
        "WONEN: {WONINGCORPORATIE: 3",
        "WONEN: {WONINGCORPORATI: 3",
        "domain_weights.WONEN.WONINGCORPORATI",
        "WONINGCORPORATI: 3",
    ),
    (
        "regie.yaml",
        "kind: domain_weight",
        "kind: domein_gewicht",
        "rules[2].kind",
        "domein_gewicht",
    ),
    ("regie.yaml", "version: 1\n", "version: 1\nversion: 1\n", "version", "version: 1"),
    (
        "deadlines.yaml",
        "working_days: {NORMAAL: 5, HOOG: 1}",
        "working_days: {NORMAAL: 5, HOOG: 0}",
        "response.working_days.HOOG",
        "HOOG: 0",
    ),
    (
        "deadlines.yaml",
        "  also_closed: []",
        "  also_closed: [2026-02-30]",
        "calendar.also_closed[0]",
        "2026-02-30",
    ),
    (
        "deadlines.yaml",
        "      when: {second_deadline_passed: true}",
        "      when: {second_deadline_passed: true}\n      any_of: [{min_signals: 1}]",
        "escalation.rules[4]",
        "name: second_deadline_passed",
    ),
    (
        "retention.yaml",
        "    reason: UNJUSTIFIED\n    action: ERASE",
        "    reason: UNJUSTIFIED\n    action: KEEP_UNTIL_EXPIRY",
        "withdrawn[0].action",
        "action: KEEP_UNTIL_EXPIRY\n  - name: withdrawn_resolved",
    ),
]


@pytest.mark.parametrize(
    ("name", "old", "new", "field", "needle"),
    SPOILED,
    ids=[f"{s[0]}:{s[3]}" for s in SPOILED],
)
def test_a_malformed_policy_is_refused_naming_file_line_and_field(
    folder: Path, name: str, old: str, new: str, field: str, needle: str
) -> None:
    """Loading stops with a ConfigError that names the file, the line and the field."""
    path = folder / name
    text = path.read_text()
    assert old in text
    spoiled = text.replace(old, new, 1)
    path.write_text(spoiled)
    line = spoiled[: spoiled.rfind(needle)].count("\n") + 1
    with pytest.raises(PolicyError) as caught:
        policy.load(folder)
    err = caught.value
    assert isinstance(err, ConfigError)
    assert (err.path, err.line, err.field) == (path, line, field)
    assert str(err).startswith(f"{path}:{line}: {field}: ")


def test_bad_yaml_syntax_is_refused_with_its_line(folder: Path) -> None:
    """A YAML syntax error names the file and the line where parsing failed."""
    path = folder / "retention.yaml"
    path.write_text(path.read_text().replace("closed_cases:\n", "closed_cases: [\n", 1))
    with pytest.raises(PolicyError) as caught:
        policy.load(folder)
    assert caught.value.path == path
    assert caught.value.field == "(syntax)"
    assert caught.value.line > 1


def test_a_missing_policy_file_is_refused(folder: Path) -> None:
    """A policy file that is not there stops the load, naming it."""
    (folder / "regie.yaml").unlink()
    with pytest.raises(PolicyError, match=r"regie\.yaml"):
        policy.load(folder)
