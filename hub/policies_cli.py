"""`seinhuis policies check`: is a policies folder fit for the hub, and do its cases pass?

Run it on a changed folder before the hub loads it: the same loader the hub starts with
(hub.judgement.policy), then every rule's allow/deny cases (hub.judgement.cases), as
tests/policies does for the shipped folder.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from hub.judgement import cases, policy
from seinhuis.errors import ConfigError


def register(parser: argparse.ArgumentParser) -> None:
    sub: Any = parser.add_subparsers(dest="policies_command", required=True, metavar="COMMAND")
    check = sub.add_parser(
        "check",
        help="load a policies folder as the hub does and run every rule's allow/deny cases",
        description="Exit status 0: the files load and every case passes; 1: some cases fail "
        "(listed), or a rule lacks an allow or a deny case; 2: a file is malformed (named with "
        "its line and field) and the hub would refuse to start with it.",
    )
    check.add_argument(
        "directory",
        nargs="?",
        type=Path,
        default=policy.DEFAULT_DIR,
        metavar="DIR",
        help="the folder with catalogue.yaml, matching.yaml, regie.yaml, deadlines.yaml, "
        "retention.yaml and cases/ (default: the policies/ folder of this installation)",
    )
    check.set_defaults(func=check_command)


def check_command(args: argparse.Namespace) -> int:
    folder: Path = args.directory
    if not folder.is_dir():
        raise ConfigError(f"{folder}: no such folder")
    report = cases.check(folder)
    for failure in report.failures:
        where = f" ({failure.path})" if failure.path else ""
        print(f"FAIL {failure.what}{where}: {failure.reason}")
    failed_cases = sum(1 for f in report.failures if f.path is not None)
    summary = f"{report.rules} rules, {report.cases - failed_cases} of {report.cases} cases passed"
    if report.ok:
        print(f"{folder}: {report.rules} rules, {report.cases} cases passed")
        return 0
    others = len(report.failures) - failed_cases
    print(f"{folder}: {summary}" + (f"; {others} other problem(s)" if others else ""))
    return 1
