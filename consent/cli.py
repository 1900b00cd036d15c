"""`seinhuis consent ...`: serve the registry (and its portal), make keys, run the dev provider."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from seinhuis import backup, logs
from seinhuis.crypto.keys import key_id
from seinhuis.errors import ConfigError, SeinhuisError
from seinhuis.lifecycle import wait_for_stop_signal


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

    dev = sub.add_parser(
        "init-dev",
        help="lay out the consent service, its portal and the development login provider",
    )
    dev.add_argument("directory", type=Path, metavar="DIR")
    dev.add_argument("--ca", required=True, type=Path, help="the development CA's folder")
    dev.add_argument("--pseudonym", default="127.0.0.1:50052", metavar="HOST:PORT")
    dev.add_argument("--portal-port", type=int, default=8443)
    dev.add_argument("--oidc-port", type=int, default=8444)
    dev.add_argument("--force", action="store_true", help="replace an existing setup")
    dev.set_defaults(func=_init_dev)

    migrate = sub.add_parser(
        "migrate",
        help="bring the database schema to this version's newest migration (auto_migrate)",
    )
    migrate.add_argument("--config", required=True, type=Path, metavar="FILE")
    migrate.set_defaults(func=_migrate)

    review = sub.add_parser(
        "objections", help="the operators' review list: residents' open objections to signals"
    )
    review.add_argument("--config", required=True, type=Path, metavar="FILE")
    review.set_defaults(func=_objections)

    backup.add_command(
        sub,
        what="the consent registry's database",
        config_help="consent.toml",
        database_of=_database_file,
    )

    oidc = sub.add_parser(
        "dev-oidc", help="the development login provider (Ontwikkel-inlogdienst, geen DigiD)"
    )
    oidc_sub = oidc.add_subparsers(dest="oidc_command", required=True, metavar="COMMAND")
    oidc_serve = oidc_sub.add_parser("serve", help="run the development login provider")
    oidc_serve.add_argument("--config", required=True, type=Path, metavar="FILE")
    oidc_serve.set_defaults(func=_serve_dev_oidc)


def _until_signalled() -> None:
    """Block until SIGTERM or SIGINT."""
    wait_for_stop_signal()


def _database_file(path: Path) -> Path:
    """The registry's SQLite database file (`seinhuis consent backup`)."""
    from consent import config

    url = config.load(path).database_url
    return backup.sqlite_file(url, source=str(path), field="consent.database_url")


def _serve(args: argparse.Namespace) -> int:
    from consent import config, wiring  # the server stack only for this command

    logs.configure("consent")
    service = wiring.build(config.load(args.config))
    service.start()
    _until_signalled()
    service.stop(args.grace)
    return 0


def _serve_dev_oidc(args: argparse.Namespace) -> int:
    from consent.portal.dev_oidc import app, config

    logs.configure("dev-oidc")
    service = app.build(config.load(args.config))
    service.start()
    _until_signalled()
    service.stop()
    return 0


def _migrate(args: argparse.Namespace) -> int:
    from consent import config
    from consent.migrations import SCHEMA
    from seinhuis.schema import migrate_database

    print(migrate_database(config.load(args.config).database_url, SCHEMA))
    return 0


def _objections(args: argparse.Namespace) -> int:
    """Print the open objections, oldest first; people appear by nothing but the signal's id."""
    from consent import config
    from consent.portal.store import PortalStore

    store = PortalStore(config.load(args.config).database_url)
    try:
        found = store.open_objections()
    finally:
        store.close()
    for o in found:
        print(
            f"{o.created_at:%Y-%m-%d %H:%M}Z  {o.id.hex()}  signal {o.signal_reference}  "
            f"{o.signal_type.value} from {o.partner_type.value} ({o.legal_basis.value})  "
            f"reason {o.reason.value}, by the {o.made_by.value.lower()}"
        )
    print(f"{len(found)} open objection(s)")
    return 0


def _init_dev(args: argparse.Namespace) -> int:
    from consent.portal.devsetup import DevSetup
    from seinhuis.crypto.pki import DevCA

    setup = DevSetup(args.directory)
    if setup.consent_config.exists() and not args.force:
        raise ConfigError(f"{setup.consent_config}: exists; pass --force to replace the setup")
    try:
        ca = DevCA.load(args.ca)
    except OSError as exc:
        raise ConfigError(f"{args.ca}: no development CA here ({exc.strerror})") from exc
    setup.consent_dir.mkdir(parents=True, exist_ok=True)
    setup.oidc_dir.mkdir(parents=True, exist_ok=True)
    setup.create_keys(ca)
    setup.write_oidc_config(f"127.0.0.1:{args.oidc_port}")
    setup.write_consent_config(
        issuer=f"https://127.0.0.1:{args.oidc_port}",
        pseudonym_target=args.pseudonym,
        portal_listen=f"127.0.0.1:{args.portal_port}",
    )
    print(
        f"development login provider  seinhuis consent dev-oidc serve --config {setup.oidc_config}"
    )
    print(f"consent service and portal  seinhuis consent serve --config {setup.consent_config}")
    print(f"then open                   https://127.0.0.1:{args.portal_port}/")
    print('the pseudonymisation service must admit the portal: portal_ids = ["portal"] in its')
    print(f"pseudonym.toml; nodes may check consent if listed in {setup.consent_dir}/partners.yaml")
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
