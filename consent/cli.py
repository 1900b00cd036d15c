"""`seinhuis consent ...`: serve the registry, and make its receipt signing key."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from seinhuis import logs
from seinhuis.crypto.keys import key_id
from seinhuis.errors import ConfigError, SeinhuisError


def register(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = sub.add_parser("serve", help="run the consent registry")
    serve.add_argument("--config", required=True, type=Path, metavar="FILE")
    serve.add_argument("--grace", type=float, default=2.0, help="seconds to finish calls on stop")
    serve.set_defaults(func=_serve)

    init = sub.add_parser(
        "init-keys", help="make the receipt signing key and its verify key (for the hub, nodes)"
    )
    init.add_argument("directory", type=Path, metavar="DIR")
    init.add_argument("--force", action="store_true", help="replace an existing key")
    init.set_defaults(func=_init_keys)


def _serve(args: argparse.Namespace) -> int:
    from consent import config, wiring  # the server stack only for this command

    logs.configure("consent")
    service = wiring.build(config.load(args.config))
    stopping = threading.Event()

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    service.start()
    stopping.wait()
    service.stop(args.grace)
    return 0


def _init_keys(args: argparse.Namespace) -> int:
    from consent import receipts

    target = args.directory / receipts.SIGNING_KEY_FILE
    if target.exists() and not args.force:
        # Replacing the key silently would make every receipt the hub holds unverifiable.
        raise ConfigError(f"{target}: exists; pass --force to replace it")
    key = receipts.generate_keys(args.directory)
    print(f"receipt signing key  {target}")
    print(f"receipt verify key   {args.directory / receipts.VERIFY_KEY_FILE}")
    print(f"key id               {key_id(bytes(key.verify_key)).hex()}")
    print("give the verify key to the hub and the nodes; keep the signing key here")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run this role alone (`python -m consent.cli ...`), as `seinhuis consent ...` does."""
    parser = argparse.ArgumentParser(prog="seinhuis consent", description=__doc__)
    register(parser)
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except SeinhuisError as exc:
        print(f"seinhuis: {exc.message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
