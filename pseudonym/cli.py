"""`seinhuis pseudonym ...`: serve, and create, rotate and inspect the keyring."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from pseudonym import keyring
from seinhuis import backup, logs
from seinhuis.crypto.keys import key_id
from seinhuis.errors import SeinhuisError
from seinhuis.lifecycle import serve_until_signalled
from seinhuis.vocabulary import IdentifierKind


def register(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = sub.add_parser("serve", help="run the pseudonymisation service")
    serve.add_argument("--config", required=True, type=Path, metavar="FILE")
    serve.add_argument("--grace", type=float, default=2.0, help="seconds to finish calls on stop")
    serve.set_defaults(func=_serve)

    init = sub.add_parser("init-keyring", help="create a keyring holding key version 1")
    init.add_argument("directory", type=Path, metavar="DIR")
    init.set_defaults(func=_init_keyring)

    rotate = sub.add_parser(
        "rotate", help="add a key version and make it current (a running service picks it up)"
    )
    rotate.add_argument("--keyring", required=True, type=Path, metavar="DIR")
    rotate.set_defaults(func=_rotate)

    info = sub.add_parser("key-info", help="show key versions and public key ids (no secrets)")
    info.add_argument("--keyring", required=True, type=Path, metavar="DIR")
    info.set_defaults(func=_key_info)

    backup.add_command(
        sub,
        what="the service's audit database",
        config_help="pseudonym.toml",
        database_of=_audit_database,
    )


def _audit_database(path: Path) -> Path:
    """The audit database file (`seinhuis pseudonym backup`); the keyring is copied as files."""
    from pseudonym import config

    return config.load(path).audit_database


def _serve(args: argparse.Namespace) -> int:
    from pseudonym import config, wiring  # the server stack only for this command

    logs.configure("pseudonym")
    service = wiring.build(config.load(args.config))
    serve_until_signalled(service.start, lambda: service.stop(args.grace))
    return 0


def _print_keyring(ring: keyring.Keyring) -> None:
    print(f"keyring {ring.directory}")
    print(f"current version {ring.current_version}")
    for version in ring.versions:
        ids = "  ".join(
            f"{kind.value.lower()} {key_id(ring.key(kind, version).public).hex()}"
            for kind in IdentifierKind
        )
        print(f"v{version}  {ids}")


def _init_keyring(args: argparse.Namespace) -> int:
    _print_keyring(keyring.create(args.directory))
    return 0


def _rotate(args: argparse.Namespace) -> int:
    ring = keyring.rotate(args.keyring)
    _print_keyring(ring)
    print(
        f"the hub re-keys stored pseudonyms from v{ring.versions[-2]} to v{ring.current_version}"
        " with factors it fetches from the service"
    )
    return 0


def _key_info(args: argparse.Namespace) -> int:
    _print_keyring(keyring.load(args.keyring))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run this role alone (`python -m pseudonym.cli ...`), as `seinhuis pseudonym ...` does."""
    parser = argparse.ArgumentParser(prog="seinhuis pseudonym", description=__doc__)
    register(parser)
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except SeinhuisError as exc:
        print(f"seinhuis: {exc.message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
