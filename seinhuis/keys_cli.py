"""`seinhuis keys`: create the keys, development CA, certificates and partner registry of a network.

The layout is the one in docs/architecture.md. Everything is generated at run time; nothing
secret is ever committed. The development CA is for demos and tests only.
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from seinhuis.crypto import keys
from seinhuis.crypto.pki import DevCA
from seinhuis.errors import ConfigError
from seinhuis.vocabulary import PartnerType

PARTNER_ID = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")
KEY_VALIDITY = dt.timedelta(days=730)


@dataclass(frozen=True)
class PartnerSpec:
    id: str
    type: PartnerType

    @classmethod
    def parse(cls, text: str) -> PartnerSpec:
        pid, _, ptype = text.partition(":")
        if not PARTNER_ID.match(pid):
            raise ConfigError(f"partner id {pid!r} must match {PARTNER_ID.pattern}")
        try:
            return cls(pid, PartnerType(ptype.upper()))
        except ValueError:
            choices = ", ".join(p.value for p in PartnerType)
            raise ConfigError(f"partner {pid}: type {ptype!r} is not one of {choices}") from None


def init_network_keys(
    root: Path, partners: list[PartnerSpec], *, hub_id: str = "hub", pseudonym_id: str = "pseudonym"
) -> None:
    """Create the CA, hub, pseudonymisation service and node keys under root."""
    if (root / "ca" / "ca.key").exists():
        raise ConfigError(f"{root}: keys exist already; use `seinhuis keys add-partner`")
    ca = DevCA.create(root / "ca")
    ca.issue(root / "hub", hub_id, server=True)
    keys.generate_sealing_key(root / "hub" / "sealing.key", root / "hub" / "sealing.pub")
    _write_registry(root, {"hub_id": hub_id, "partners": []})
    ca.issue(root / "pseudonym", pseudonym_id, server=True)
    from pseudonym import keyring  # the service's own folder format

    keyring.create(root / "pseudonym" / "keyring")
    for partner in partners:
        add_partner(root, partner, ca=ca)


def add_partner(root: Path, partner: PartnerSpec, *, ca: DevCA | None = None) -> Path:
    """Issue a node's certificate and keys and register its verify key at the hub."""
    ca = ca or DevCA.load(root / "ca")
    registry = _read_registry(root)
    if any(p["id"] == partner.id for p in registry["partners"]):
        raise ConfigError(f"partner {partner.id} is registered already")
    node_dir = root / "nodes" / partner.id
    ca.issue(node_dir, partner.id)
    signing = keys.generate_signing_key(node_dir / "signing.key", node_dir / "signing.pub")
    keys.generate_secret(node_dir / "cache.key", "cache-key")
    shutil.copyfile(root / "hub" / "sealing.pub", node_dir / "hub-sealing.pub")
    verify = bytes(signing.verify_key)
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    registry["partners"].append(
        {
            "id": partner.id,
            "type": partner.type.value,
            "certificate_cn": partner.id,
            **demo_coordination(partner.type, partner.id),
            "keys": [
                {
                    "key_id": keys.key_id(verify).hex(),
                    "verify_key": verify.hex(),
                    "valid_from": _iso(now - dt.timedelta(minutes=5)),
                    "valid_until": _iso(now + KEY_VALIDITY),
                }
            ],
        }
    )
    _write_registry(root, registry)
    return node_dir


#: Demonstration values: who may act as regiehouder and for how many open cases at once.
_DEMO_CAPACITY: dict[PartnerType, int] = {
    PartnerType.SOCIAAL_TEAM: 50,
    PartnerType.GGD: 10,
    PartnerType.SCHOOL: 10,
    PartnerType.WONINGCORPORATIE: 10,
}


def demo_coordination(partner_type: PartnerType, partner_id: str) -> dict[str, Any]:
    """The registry's contact point and coordination fields a demonstration partner gets."""
    fields: dict[str, Any] = {"contact_point": f"{partner_id} (contactpunt {partner_type.value})"}
    capacity = _DEMO_CAPACITY.get(partner_type)
    if capacity is None:
        fields["can_coordinate"] = False
    else:
        fields.update(can_coordinate=True, capacity=capacity)
    return fields


def _iso(t: dt.datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def _read_registry(root: Path) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((root / "hub" / "partners.yaml").read_text())
    return data


def _write_registry(root: Path, registry: dict[str, Any]) -> None:
    path = root / "hub" / "partners.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    header = "# The hub's partner registry: who may connect and which keys they sign with.\n"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(header + yaml.safe_dump(registry, sort_keys=False))
    tmp.replace(path)


def register(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="keys_command", required=True, metavar="COMMAND")
    init = sub.add_parser("init", help="create all keys of a network in a folder")
    init.add_argument("directory", type=Path)
    init.add_argument("--hub-id", default="hub")
    init.add_argument(
        "--partner",
        action="append",
        default=[],
        metavar="ID:TYPE",
        help="a partner node to create, e.g. ggd-west:GGD (repeatable)",
    )
    init.set_defaults(func=_cmd_init)
    add = sub.add_parser("add-partner", help="onboard one more partner node")
    add.add_argument("directory", type=Path)
    add.add_argument("partner", metavar="ID:TYPE")
    add.set_defaults(func=_cmd_add)


def _cmd_init(args: argparse.Namespace) -> int:
    partners = [PartnerSpec.parse(p) for p in args.partner]
    init_network_keys(args.directory, partners, hub_id=args.hub_id)
    print(f"created keys for the hub, the pseudonymisation service and {len(partners)} node(s)")
    print(f"in {args.directory}; the development CA is for demos and tests only")
    return 0


def _cmd_add(args: argparse.Namespace) -> int:
    node_dir = add_partner(args.directory, PartnerSpec.parse(args.partner))
    print(f"created {node_dir} and registered its verify key in hub/partners.yaml")
    return 0
