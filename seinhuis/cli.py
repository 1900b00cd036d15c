"""The `seinhuis` command: one subcommand per role. Each role's package registers its own."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from seinhuis.errors import SeinhuisError

#: (subcommand, module with `register(subparsers)`, help)
ROLES: list[tuple[str, str, str]] = [
    ("keys", "seinhuis.keys_cli", "create keys, a development CA and certificates"),
    ("hub", "hub.cli", "run and inspect the municipal hub"),
    ("operator", "hub.operator.cli", "municipal staff: list, inspect and act on cases"),
    ("node", "node.cli", "run a partner node, send and import signals"),
    ("pseudonym", "pseudonym.cli", "run the pseudonymisation service, rotate its keys"),
    ("consent", "consent.cli", "run the consent registry"),
    ("policies", "hub.policies_cli", "check the municipality's policy files and their cases"),
    ("demo", "seinhuis.demo", "run the whole network on this machine"),
]


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The full parser, or one with only the named role (a service starts faster that way)."""
    parser = argparse.ArgumentParser(prog="seinhuis", description=__doc__)
    roles = parser.add_subparsers(dest="role", required=True, metavar="ROLE")
    for name, module, help_text in ROLES:
        sub = roles.add_parser(name, help=help_text, description=help_text)
        if only is None or name == only:
            importlib.import_module(module).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    names = {name for name, _, _ in ROLES}
    parser = build_parser(argv[0] if argv and argv[0] in names else None)
    args = parser.parse_args(argv)
    try:
        result = args.func(args)
    except SeinhuisError as exc:
        print(f"seinhuis: {exc.message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())
