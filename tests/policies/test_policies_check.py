"""`seinhuis policies check DIR`: a changed policies folder checked before the hub loads it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from hub.judgement import policy
from hub.judgement.cases import discover
from seinhuis.cli import main

Capture = pytest.CaptureFixture[str]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A copy of the shipped policies folder, cases included."""
    target = tmp_path / "policies-try"
    shutil.copytree(policy.DEFAULT_DIR, target)
    return target


def _check(folder: Path) -> int:
    return main(["policies", "check", str(folder)])


def test_the_shipped_folder_passes(folder: Path, capsys: Capture) -> None:
    """Exit 0 and a one-line summary counting every rule and every case."""
    assert _check(folder) == 0
    rules = sum(len(policy.rule_names(stem)) for stem in policy.FILES)
    cases = len(discover())
    assert capsys.readouterr().out == f"{folder}: {rules} rules, {cases} cases passed\n"


def test_without_a_folder_it_checks_the_installed_one(capsys: Capture) -> None:
    assert main(["policies", "check"]) == 0
    assert capsys.readouterr().out.startswith(f"{policy.DEFAULT_DIR}: ")


@pytest.mark.parametrize(
    ("name", "old", "new", "where"),
    [
        (
            "deadlines.yaml",
            "working_days: {NORMAAL: 5, HOOG: 1}",
            "working_days: {NORMAAL: 5, HOOG: 0}",
            "response.working_days.HOOG: ",
        ),
        ("matching.yaml", "when: {min_partners: 2}", "when: {min_partnres: 2}", "min_partnres"),
        (
            "catalogue.yaml",
            "may_process_bsn: true",
            "may_process_bsn: yes please",
            "may_process_bsn: 'yes please' is not of type 'boolean'",
        ),
    ],
)
def test_a_malformed_file_exits_2_naming_file_line_and_field(
    folder: Path, capsys: Capture, name: str, old: str, new: str, where: str
) -> None:
    """The hub would refuse to start: exit 2, one line `seinhuis: FILE:LINE: FIELD: why`."""
    path = folder / name
    text = path.read_text()
    spoiled = text.replace(old, new, 1)
    path.write_text(spoiled)
    line = spoiled[: spoiled.index(new)].count("\n") + 1
    assert _check(folder) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith(f"seinhuis: {path}:{line}: ")
    assert where in captured.err and captured.err.count("\n") == 1


def test_a_misspelt_section_names_its_line(folder: Path, capsys: Capture) -> None:
    """The guide's example: a misspelt top-level key appended to deadlines.yaml."""
    path = folder / "deadlines.yaml"
    lines = path.read_text().count("\n")
    with path.open("a") as f:
        f.write("respons:\n  working_days: {NORMAAL: 3, HOOG: 1}\n")
    assert _check(folder) == 2
    assert capsys.readouterr().err == (f"seinhuis: {path}:{lines + 1}: respons: unknown field\n")


def test_failing_cases_exit_1_and_are_listed(folder: Path, capsys: Capture) -> None:
    """A rule change that breaks its cases: every failing case named with its file, exit 1."""
    path = folder / "deadlines.yaml"
    old, new = "working_days: {NORMAAL: 5, HOOG: 1}", "working_days: {NORMAAL: 9, HOOG: 1}"
    path.write_text(path.read_text().replace(old, new))
    assert _check(folder) == 1
    out = capsys.readouterr().out.splitlines()
    fails = [line for line in out if line.startswith("FAIL ")]
    assert fails, out
    for line in fails:
        case_id = line.split()[1]
        assert case_id.startswith("deadlines/")
        (case,) = [c for c in discover(folder / "cases") if c.id == case_id]
        assert f"({case.path}): " in line
    total = len(discover(folder / "cases"))
    rules = sum(len(policy.rule_names(stem, folder)) for stem in policy.FILES)
    assert out[-1] == f"{folder}: {rules} rules, {total - len(fails)} of {total} cases passed"


def test_a_rule_without_cases_and_a_stray_folder_fail(folder: Path, capsys: Capture) -> None:
    """Every rule needs an allow and a deny case; a case folder must name an existing rule."""
    shutil.rmtree(folder / "cases" / "matching" / "two_partners" / "deny")
    (folder / "cases" / "matching" / "three_partners" / "allow").mkdir(parents=True)
    assert _check(folder) == 1
    out = capsys.readouterr().out
    assert "FAIL matching/two_partners/deny: no case here" in out
    assert "FAIL matching/three_partners: not a rule of a policy file" in out
    assert out.splitlines()[-1].endswith("cases passed; 2 other problem(s)")


def test_a_malformed_case_file_is_that_cases_failure(folder: Path, capsys: Capture) -> None:
    """A case that cannot run fails with its file and the reason; the others still run."""
    case = next(c for c in discover(folder / "cases") if c.stem == "regie")
    case.path.write_text(case.path.read_text().replace("input:", "inptu:", 1))
    assert _check(folder) == 1
    out = capsys.readouterr().out
    assert f"FAIL {case.id} ({case.path}): cannot run: " in out
    assert "unknown keys ['inptu']" in out


def test_a_missing_folder_is_refused(tmp_path: Path, capsys: Capture) -> None:
    assert _check(tmp_path / "nope") == 2
    assert capsys.readouterr().err == f"seinhuis: {tmp_path / 'nope'}: no such folder\n"
