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
from typing import Any, Literal

import yaml

from seinhuis.atomic import publish, refuse_existing, temp_beside, write_text
from seinhuis.crypto import keys
from seinhuis.crypto.pki import DevCA
from seinhuis.errors import ConfigError
from seinhuis.vocabulary import PartnerType

PARTNER_ID = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")
KEY_VALIDITY = dt.timedelta(days=730)
#: Roles of municipal staff on the operator interface (hub.staff.StaffRole).
STAFF_ROLES = ("OPERATOR", "PROCESREGISSEUR", "BESTUURDER")
#: A staff certificate's common name is its id plus this; partner ids have no dot (hub.staff).
STAFF_CN_SUFFIX = ".staff"


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
    _write_staff(root, {"staff": []})
    ca.issue(root / "pseudonym", pseudonym_id, server=True)
    from pseudonym import keyring  # the service's own folder format

    keyring.create(root / "pseudonym" / "keyring")
    copy_partner_list(root, root / "pseudonym")
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


def add_staff(
    root: Path, staff_id: str, role: str, *, hub_address: str = "127.0.0.1:50051"
) -> Path:
    """Issue a staff member's client certificate, list them in hub/staff.yaml and write an
    operator client config (operator.toml) beside the certificate; returns that folder.

    The hub reads staff.yaml at start: restart it after adding someone.
    """
    if not PARTNER_ID.match(staff_id):
        raise ConfigError(f"staff id {staff_id!r} must match {PARTNER_ID.pattern}")
    role = role.upper()
    if role not in STAFF_ROLES:
        raise ConfigError(f"role {role!r} is not one of {', '.join(STAFF_ROLES).lower()}")
    ca = DevCA.load(root / "ca")
    path = root / "hub" / "staff.yaml"
    found = yaml.safe_load(path.read_text()) if path.exists() else None
    registry: dict[str, Any] = found or {"staff": []}
    if any(m["id"] == staff_id for m in registry["staff"]):
        raise ConfigError(f"staff member {staff_id} is registered already")
    folder = root / "staff" / staff_id
    common_name = staff_id + STAFF_CN_SUFFIX
    ca.issue(folder, common_name)
    registry["staff"].append({"id": staff_id, "role": role, "certificate_cn": common_name})
    _write_staff(root, registry)
    write_operator_config(folder, hub_address)
    return folder


def _write_staff(root: Path, registry: dict[str, Any]) -> None:
    path = root / "hub" / "staff.yaml"
    header = "# The hub's staff registry: who may use the operator interface, in which role.\n"
    _replace(path, header + yaml.safe_dump(registry, sort_keys=False))


def write_operator_config(folder: Path, hub_address: str, *, server_name: str = "hub") -> Path:
    """The operator client config (hub.operator.config) for the certificate in `folder`."""
    path = folder / "operator.toml"
    path.write_text(
        "[operator]\n"
        f"hub = {_toml_str(hub_address)}\n"
        f"server_name = {_toml_str(server_name)}\n"
        "[operator.tls]\n"
        'ca_cert = "../../ca/ca.crt"\n'
        'cert = "tls.crt"\n'
        'key = "tls.key"\n'
    )
    return path


def _toml_str(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _iso(t: dt.datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def _read_registry(root: Path) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((root / "hub" / "partners.yaml").read_text())
    return data


def _write_registry(root: Path, registry: dict[str, Any]) -> None:
    path = root / "hub" / "partners.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    header = "# The hub's partner registry: who may connect and which keys they sign with.\n"
    _replace(path, header + yaml.safe_dump(registry, sort_keys=False))
    # The pseudonymisation service and the consent registry admit partners from their own
    # copies (seinhuis.partner_list); on one machine the copies follow the hub's registry.
    for service in PARTNER_LIST_HOLDERS:
        if (root / service).is_dir():
            copy_partner_list(root, root / service)


#: The services that keep a copy of the partner registry in their folder (partners.yaml).
PARTNER_LIST_HOLDERS = ("pseudonym", "consent")


def copy_partner_list(root: Path, folder: Path) -> Path:
    """Copy the hub's partners.yaml into a service's folder as its partner list (an empty list
    when the network has no registry yet); the service reads it at start."""
    source = root / "hub" / "partners.yaml"
    target = folder / "partners.yaml"
    folder.mkdir(parents=True, exist_ok=True)
    if source.exists():
        _replace(target, source.read_text(encoding="utf-8"))
    else:
        _replace(target, "# No partners yet: copy the hub's partners.yaml here.\npartners: []\n")
    return target


def _replace(path: Path, text: str) -> None:
    """Write a registry atomically (a unique temp file beside it, then rename): a service
    starting at that moment reads the old file or the new one. Registries are not secret."""
    write_text(path, text, replace=True, mode=None if path.exists() else 0o644)


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
    staff = sub.add_parser(
        "add-staff", help="issue a municipal staff member's certificate for `seinhuis operator`"
    )
    staff.add_argument("directory", type=Path)
    staff.add_argument("name", metavar="ID", help="the member's id, e.g. anna-operator")
    staff.add_argument(
        "--role",
        required=True,
        type=str.upper,
        choices=STAFF_ROLES,
        help="operator, procesregisseur or bestuurder",
    )
    staff.add_argument(
        "--hub", default="127.0.0.1:50051", help="the hub's address for operator.toml"
    )
    staff.set_defaults(func=_cmd_add_staff)
    from seinhuis import local_api_cert  # TLS for a node's local API (node/local_tls.py)

    local_api_cert.register(sub)

    signing = sub.add_parser(
        "signing-key",
        help="a new Ed25519 signing key pair for a partner node: PREFIX.key and PREFIX.pub",
        description="Writes PREFIX.key (secret, mode 0600; the node's signing_key) and "
        "PREFIX.pub (the verify key the municipality lists with `seinhuis hub partners "
        "add-key`), and prints the key id.",
    )
    _key_pair_args(signing)
    signing.set_defaults(func=_cmd_signing_key)
    sealing = sub.add_parser(
        "sealing-key",
        help="a new X25519 sealing key pair for the hub: PREFIX.key and PREFIX.pub",
        description="Writes PREFIX.key (secret, mode 0600; list it in the hub's sealing_keys) "
        "and PREFIX.pub (what nodes seal to, their hub-sealing.pub), and prints the key id.",
    )
    _key_pair_args(sealing)
    sealing.set_defaults(func=_cmd_sealing_key)
    secret = sub.add_parser(
        "secret",
        help="a new random 32-byte secret key file, e.g. a node's cache key",
        description="Writes FILE (mode 0600) holding a random 32-byte key under the label "
        "seinhuis-LABEL; a node reads its cache_key with the label cache-key.",
    )
    secret.add_argument("file", type=Path, metavar="FILE")
    secret.add_argument(
        "--label", required=True, help="what the key is for, e.g. cache-key (a-z, 0-9, -)"
    )
    secret.add_argument("--force", action="store_true", help="replace an existing file")
    secret.set_defaults(func=_cmd_secret)


def _key_pair_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "prefix",
        type=Path,
        metavar="PREFIX",
        help="path and name without extension, e.g. net/hub/sealing-2 (in an existing folder)",
    )
    parser.add_argument("--force", action="store_true", help="replace existing key files")


def _cmd_init(args: argparse.Namespace) -> int:
    partners = [PartnerSpec.parse(p) for p in args.partner]
    init_network_keys(args.directory, partners, hub_id=args.hub_id)
    print(f"created keys for the hub, the pseudonymisation service and {len(partners)} node(s)")
    print(f"in {args.directory}; the development CA is for demos and tests only")
    return 0


def _cmd_add(args: argparse.Namespace) -> int:
    node_dir = add_partner(args.directory, PartnerSpec.parse(args.partner))
    print(f"created {node_dir} and registered its verify key in hub/partners.yaml")
    print("(and the copies in pseudonym/ and consent/); restart the hub, the pseudonymisation")
    print("service and the consent registry to admit it")
    return 0


def _cmd_add_staff(args: argparse.Namespace) -> int:
    folder = add_staff(args.directory, args.name, args.role, hub_address=args.hub)
    print(f"created {folder} (certificate and operator.toml) and listed {args.name} as")
    print(f"{args.role.lower()} in hub/staff.yaml; restart the hub to let them in")
    return 0


#: A key file's label: `seinhuis-<label> <hex>` (seinhuis.crypto.keys).
KEY_LABEL = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


def _key_pair_paths(prefix: Path) -> tuple[Path, Path]:
    """PREFIX.key and PREFIX.pub; a .key or .pub typed after the prefix is not doubled."""
    if prefix.suffix in (".key", ".pub"):
        prefix = prefix.with_suffix("")
    if not prefix.name:
        raise ConfigError(f"{prefix}: give a path and a file name without extension")
    return prefix.with_name(prefix.name + ".key"), prefix.with_name(prefix.name + ".pub")


def new_key_pair(
    prefix: Path, kind: Literal["signing", "sealing"], *, force: bool = False
) -> bytes:
    """Generate a signing ("signing") or sealing ("sealing") key pair at PREFIX.key/.pub with the
    key functions, atomically; never over existing files unless `force`. Returns the key id."""
    private, public = _key_pair_paths(prefix)
    refuse_existing([private, public], force=force)
    temp_private, temp_public = temp_beside(private), temp_beside(public)
    try:
        if kind == "signing":
            raw = bytes(keys.generate_signing_key(temp_private, temp_public).verify_key)
        else:
            raw = bytes(keys.generate_sealing_key(temp_private, temp_public).public_key)
        temp_private.chmod(0o600)
        temp_public.chmod(0o644)
        # The public half goes first: a .key without its .pub is the worse half-done state.
        publish(temp_public, public, replace=force)
        publish(temp_private, private, replace=force)
    finally:
        temp_private.unlink(missing_ok=True)
        temp_public.unlink(missing_ok=True)
    return keys.key_id(raw)


def new_secret(path: Path, label: str, *, force: bool = False) -> None:
    """A random 32-byte key file (mode 0600) with the label seinhuis-<label>, atomically."""
    if not KEY_LABEL.match(label):
        raise ConfigError(f"--label {label!r}: must match {KEY_LABEL.pattern}, e.g. cache-key")
    refuse_existing([path], force=force)
    temp = temp_beside(path)
    try:
        keys.generate_secret(temp, label)
        temp.chmod(0o600)
        publish(temp, path, replace=force)
    finally:
        temp.unlink(missing_ok=True)


def _cmd_signing_key(args: argparse.Namespace) -> int:
    private, public = _key_pair_paths(args.prefix)
    ident = new_key_pair(args.prefix, "signing", force=args.force)
    print(f"wrote {private} (secret, mode 0600) and {public}")
    print(f"key id {ident.hex()}")
    return 0


def _cmd_sealing_key(args: argparse.Namespace) -> int:
    private, public = _key_pair_paths(args.prefix)
    ident = new_key_pair(args.prefix, "sealing", force=args.force)
    print(f"wrote {private} (secret, mode 0600) and {public}")
    print(f"key id {ident.hex()}")
    return 0


def _cmd_secret(args: argparse.Namespace) -> int:
    new_secret(args.file, args.label, force=args.force)
    print(f"wrote {args.file} (seinhuis-{args.label}, 32 random bytes, mode 0600)")
    return 0
