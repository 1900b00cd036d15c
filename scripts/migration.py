"""Write a new schema migration from the difference between the tables in code and the newest
revision: `make migration SERVICE=hub MSG="add signal source"` (see seinhuis/schema.py).

    python scripts/migration.py SERVICE -m MESSAGE    # next revision of hub, consent, pseudonym
    python scripts/migration.py all --baseline        # replace every service's revisions by one
                                                      # baseline that creates today's tables
"""

from __future__ import annotations

import argparse
import importlib
import sys

from seinhuis.schema import Schema, new_revision

SERVICES = ("hub", "consent", "pseudonym")


def schema_of(service: str) -> Schema:
    found: Schema = importlib.import_module(f"{service}.migrations").SCHEMA
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("service", choices=[*SERVICES, "all"])
    parser.add_argument("-m", "--message", default="", help="what the revision changes")
    parser.add_argument(
        "--baseline",
        action="store_true",
        help="delete the existing revisions first and write one that creates every table",
    )
    args = parser.parse_args(argv)
    services = SERVICES if args.service == "all" else (args.service,)
    message = args.message or ("baseline" if args.baseline else "")
    if not message:
        parser.error("say what changes: -m MESSAGE (make migration ... MSG=...)")
    for service in services:
        path = new_revision(schema_of(service), message, baseline=args.baseline)
        if path is None:
            print(f"{service}: the tables match the newest revision; nothing written")
        else:
            print(f"{service}: wrote {path}; read it through before you commit it")
    return 0


if __name__ == "__main__":
    sys.exit(main())
