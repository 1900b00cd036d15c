"""`seinhuis hub partners ...` and `seinhuis hub staff ...`: edit and show the hub's registries.

The files stay plain YAML that an operator may read and review; these commands only save typing
and mistakes. Every change is validated with the hub's own loader (hub/registry.py,
hub/staff.py) before the file is replaced, atomically, so a hub starting at that moment reads
the old file or the new one. The services read the registries only at start: the commands say
which to restart. The pseudonymisation service and the consent registry keep their own copies of
partners.yaml on purpose (seinhuis/partner_list.py); nothing here changes a copy by itself.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from hub import registry as registry_module
from hub import staff as staff_module
from seinhuis.atomic import write_text
from seinhuis.crypto.keys import key_id, load_verify_key
from seinhuis.errors import ConfigError

#: How long a listed signing key stays valid unless told otherwise (as `keys add-partner`).
DEFAULT_VALID_DAYS = 730


def register(commands: Any) -> None:
    """Add `partners` and `staff` to the hub's commands (`commands`: its subparsers)."""
    partners = commands.add_parser(
        "partners",
        help="list partners, add or remove a partner's signing key, remove a partner "
        "(partners.yaml)",
        description="Edit and show the partner registry. Restart the hub after a change; the "
        "pseudonymisation service and the consent registry read their own copies.",
    )
    sub = partners.add_subparsers(dest="partners_command", required=True, metavar="COMMAND")
    listing = sub.add_parser("list", help="partners, certificate names and signing keys")
    listing.set_defaults(func=partners_list_command)
    add_key = sub.add_parser(
        "add-key",
        help="list a partner's new signing key (its .pub file) beside its current ones",
        description="Appends the verify key in FILE (made with `seinhuis keys signing-key`) to "
        "the partner's keys with a validity period. The partner switches to the new key after "
        "the hub was restarted.",
    )
    add_key.add_argument("--partner", required=True, metavar="ID", help="the partner's id")
    add_key.add_argument(
        "--public", required=True, type=Path, metavar="FILE", help="the partner's .pub file"
    )
    add_key.add_argument(
        "--valid-from",
        type=_instant_arg,
        metavar="ISO",
        help="start of validity, e.g. 2026-03-01 or 2026-03-01T08:00:00Z "
        "(UTC when no zone is given; default: now)",
    )
    add_key.add_argument(
        "--valid-days",
        type=_positive_days,
        default=DEFAULT_VALID_DAYS,
        metavar="DAYS",
        help=f"days of validity from --valid-from (default {DEFAULT_VALID_DAYS})",
    )
    add_key.set_defaults(func=partners_add_key_command)
    remove_key = sub.add_parser(
        "remove-key",
        help="stop listing one of a partner's signing keys (the old one, after a rotation)",
        description="Removes the key with KEY_ID (as `partners list` shows it) from the "
        "partner's keys. A partner keeps at least one key: remove the partner instead.",
    )
    remove_key.add_argument("--partner", required=True, metavar="ID", help="the partner's id")
    remove_key.add_argument("--key-id", required=True, metavar="KEY_ID", help="hex key id")
    remove_key.set_defaults(func=partners_remove_key_command)
    remove = sub.add_parser(
        "remove",
        help="remove a partner (offboarding): its certificate and keys are refused after restart",
    )
    remove.add_argument("--partner", required=True, metavar="ID", help="the partner's id")
    remove.set_defaults(func=partners_remove_command)
    for command in (listing, add_key, remove_key, remove):
        command.add_argument(
            "--registry", required=True, type=Path, metavar="FILE", help="partners.yaml"
        )

    staff = commands.add_parser(
        "staff",
        help="list or remove municipal staff (staff.yaml; `seinhuis keys add-staff` adds)",
        description="Show and edit the staff registry. Restart the hub and the dashboard "
        "after a change.",
    )
    staff_sub = staff.add_subparsers(dest="staff_command", required=True, metavar="COMMAND")
    staff_list = staff_sub.add_parser("list", help="staff ids, roles and certificate names")
    staff_list.set_defaults(func=staff_list_command)
    staff_remove = staff_sub.add_parser(
        "remove", help="remove a member of staff: their certificate is refused after restart"
    )
    staff_remove.add_argument("--id", required=True, dest="staff_id", metavar="ID")
    staff_remove.set_defaults(func=staff_remove_command)
    for command in (staff_list, staff_remove):
        command.add_argument("--staff", required=True, type=Path, metavar="FILE", help="staff.yaml")


# --- partners -------------------------------------------------------------------------------


def add_key(
    path: Path,
    partner_id: str,
    public: Path,
    *,
    valid_from: dt.datetime,
    valid_days: int = DEFAULT_VALID_DAYS,
) -> dict[str, str]:
    """List the verify key in `public` for a partner in partners.yaml; returns the new entry.

    Refuses an unknown partner and a key that is listed already (for any partner).
    """
    data = _read_partners(path)
    entry = _partner_entry(data, partner_id, path)
    verify = bytes(load_verify_key(public))
    ident = key_id(verify).hex()
    for other in data["partners"]:
        if any(k.get("key_id") == ident for k in other.get("keys", [])):
            raise ConfigError(
                f"{public}: key {ident} is listed already, for partner {other['id']} in {path}"
            )
    start = valid_from.astimezone(dt.UTC).replace(microsecond=0)
    key = {
        "key_id": ident,
        "verify_key": verify.hex(),
        "valid_from": _iso(start),
        "valid_until": _iso(start + dt.timedelta(days=valid_days)),
    }
    entry["keys"].append(key)
    _write_partners(path, data)
    return key


def remove_key(path: Path, partner_id: str, ident: str) -> dict[str, str]:
    """Stop listing one of a partner's keys; returns the entry as it was.

    Refuses a key the partner does not have, and the partner's last key.
    """
    data = _read_partners(path)
    entry = _partner_entry(data, partner_id, path)
    keys = entry.get("keys", [])
    found = [k for k in keys if k.get("key_id") == ident.lower()]
    if not found:
        listed = ", ".join(k.get("key_id", "?") for k in keys) or "none"
        raise ConfigError(f"{path}: partner {partner_id} has no key {ident} (listed: {listed})")
    if len(keys) == 1:
        raise ConfigError(
            f"{path}: key {ident} is partner {partner_id}'s only key; list its new key first, "
            "or remove the partner"
        )
    entry["keys"] = [k for k in keys if k is not found[0]]
    _write_partners(path, data)
    removed: dict[str, str] = found[0]
    return removed


def remove_partner(path: Path, partner_id: str) -> dict[str, Any]:
    """Take a partner out of partners.yaml; returns its entry as it was."""
    data = _read_partners(path)
    entry = _partner_entry(data, partner_id, path)
    data["partners"] = [p for p in data["partners"] if p is not entry]
    _write_partners(path, data)
    return entry


def partners_list_command(args: argparse.Namespace) -> int:
    registry = registry_module.load(args.registry)
    now = dt.datetime.now(dt.UTC)
    rows: list[tuple[str, ...]] = []
    for partner in registry.partners.values():
        first = (partner.id, partner.type.value, partner.certificate_cn)
        for i, key in enumerate(partner.keys):
            rows.append(
                (
                    *(first if i == 0 else ("", "", "")),
                    key.key_id.hex(),
                    _iso(key.valid_from),
                    _iso(key.valid_until),
                    _key_state(key, now),
                )
            )
    _print_table(
        ("partner", "type", "certificate CN", "key id", "valid from", "valid until", "now"), rows
    )
    print(
        f"\n{len(registry.partners)} partner(s), {registry.key_count} key(s), hub {registry.hub_id}"
    )
    return 0


def partners_add_key_command(args: argparse.Namespace) -> int:
    valid_from = args.valid_from or dt.datetime.now(dt.UTC)
    key = add_key(
        args.registry, args.partner, args.public, valid_from=valid_from, valid_days=args.valid_days
    )
    print(
        f"listed key {key['key_id']} for {args.partner} in {args.registry}, "
        f"valid from {key['valid_from']} until {key['valid_until']}"
    )
    print(
        "restart the hub to accept it; then the partner sets signing_key to the new key and "
        "restarts its node"
    )
    return 0


def partners_remove_key_command(args: argparse.Namespace) -> int:
    key = remove_key(args.registry, args.partner, args.key_id)
    print(
        f"removed key {key['key_id']} (valid until {key['valid_until']}) of {args.partner} "
        f"from {args.registry}"
    )
    print("restart the hub: signatures by that key are refused from then on")
    return 0


def partners_remove_command(args: argparse.Namespace) -> int:
    entry = remove_partner(args.registry, args.partner)
    keys = len(entry.get("keys", []))
    print(
        f"removed partner {entry['id']} ({entry['type']}, certificate {entry['certificate_cn']}, "
        f"{keys} key(s)) from {args.registry}"
    )
    print(
        "the pseudonymisation service and the consent registry admit partners from their own "
        "copies of partners.yaml: remove it there too (this command with --registry on each "
        "copy, or copy this file over), then restart the hub, the pseudonymisation service and "
        "the consent registry"
    )
    return 0


def _read_partners(path: Path) -> dict[str, Any]:
    """The registry document, after checking that the hub would load it as it is."""
    registry_module.load(path)
    data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return data


def _partner_entry(data: dict[str, Any], partner_id: str, path: Path) -> dict[str, Any]:
    for entry in data["partners"]:
        if entry["id"] == partner_id:
            found: dict[str, Any] = entry
            return found
    listed = ", ".join(p["id"] for p in data["partners"]) or "none"
    raise ConfigError(f"{path}: no partner {partner_id!r} (listed: {listed})")


def _write_partners(path: Path, data: dict[str, Any]) -> None:
    # The hub's own loader must accept the result before it replaces the file.
    registry_module.from_dict(data, source=str(path))
    _write_yaml(path, data)


def _key_state(key: registry_module.PartnerKey, now: dt.datetime) -> str:
    if now < key.valid_from:
        return "not yet valid"
    return "valid" if key.valid_at(now) else "expired"


# --- staff ----------------------------------------------------------------------------------


def remove_staff(path: Path, staff_id: str) -> staff_module.StaffMember:
    """Take a member out of staff.yaml; returns who it was."""
    registry = staff_module.load(path)
    member = registry.members.get(staff_id)
    if member is None:
        listed = ", ".join(registry.members) or "none"
        raise ConfigError(f"{path}: no staff member {staff_id!r} (listed: {listed})")
    remaining = {m.id: m for m in registry.members.values() if m.id != staff_id}
    document = {
        "staff": [
            {"id": m.id, "role": m.role.value, "certificate_cn": m.certificate_cn}
            for m in remaining.values()
        ]
    }
    staff_module.from_dict(document, source=str(path))
    _write_yaml(path, document)
    return member


def staff_list_command(args: argparse.Namespace) -> int:
    registry = staff_module.load(args.staff)
    _print_table(
        ("staff", "role", "certificate CN"),
        [(m.id, m.role.value.lower(), m.certificate_cn) for m in registry.members.values()],
    )
    print(f"\n{len(registry.members)} member(s)")
    return 0


def staff_remove_command(args: argparse.Namespace) -> int:
    member = remove_staff(args.staff, args.staff_id)
    print(
        f"removed {member.id} ({member.role.value.lower()}, certificate {member.certificate_cn}) "
        f"from {args.staff}"
    )
    print(
        "restart the hub and the dashboard to lock them out (the development CA has no "
        "revocation list: the registry is what refuses the certificate)"
    )
    return 0


# --- shared ---------------------------------------------------------------------------------


def _write_yaml(path: Path, data: dict[str, Any]) -> None:
    """Replace a registry file atomically, keeping its leading comment lines (its header).

    The document is written from its data: comments further down are not kept (said so).
    """
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    header = ""
    for line in lines:
        if not line.startswith("#"):
            break
        header += line
    write_text(path, header + yaml.safe_dump(data, sort_keys=False), replace=True)
    if any("#" in line for line in lines[header.count("\n") :]):
        print(f"note: {path}: comments below the file's header were not kept", file=sys.stderr)


def _iso(t: dt.datetime) -> str:
    return t.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _instant_arg(text: str) -> dt.datetime:
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an ISO 8601 date or time, e.g. 2026-03-01T08:00:00Z"
        ) from None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _positive_days(text: str) -> int:
    try:
        days = int(text)
    except ValueError:
        days = 0
    if not 1 <= days <= 3650:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of days from 1 to 3650")
    return days


def _print_table(header: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> None:
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(header)]
    for row in [header, *rows]:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
