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
    ("node", "node.cli", "run a partner node, send and import signals"),
    ("pseudonym", "pseudonym.cli", "run the pseudonymisation service, rotate its keys"),
    ("consent", "consent.cli", "run the consent registry"),
    ("demo", "seinhuis.demo", "run the whole network on this machine"),
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="seinhuis", description=__doc__)
    roles = parser.add_subparsers(dest="role", required=True, metavar="ROLE")
    for name, module, help_text in ROLES:
        sub = roles.add_parser(name, help=help_text, description=help_text)
        importlib.import_module(module).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
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
