"""The partner registry (partners.yaml): who may connect, as which type, with which keys."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from nacl.signing import VerifyKey

from hub.config import ID_PATTERN
from seinhuis.crypto.keys import KEY_ID_BYTES, key_id
from seinhuis.errors import ConfigError, Unauthenticated
from seinhuis.vocabulary import PartnerType

_HEX_KEY_ID = f"^[0-9a-f]{{{2 * KEY_ID_BYTES}}}$"
_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["hub_id", "partners"],
    "properties": {
        "hub_id": {"type": "string", "pattern": f"^{ID_PATTERN.pattern}$"},
        "partners": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["id", "type", "certificate_cn", "keys"],
                "properties": {
                    "id": {"type": "string", "pattern": f"^{ID_PATTERN.pattern}$"},
                    "type": {"enum": [p.value for p in PartnerType]},
                    "certificate_cn": {"type": "string", "minLength": 1, "maxLength": 64},
                    # Set by the municipality: a team's functional contact, never a person's.
                    "contact_point": {"type": "string", "minLength": 1, "maxLength": 200},
                    "can_coordinate": {"type": "boolean"},
                    "capacity": {"type": "integer", "minimum": 0, "maximum": 1000000},
                    "keys": {
                        "type": "array",
                        "minItems": 1,
                        "items": {
                            "type": "object",
                            "additionalProperties": False,
                            "required": ["key_id", "verify_key", "valid_from", "valid_until"],
                            "properties": {
                                "key_id": {"type": "string", "pattern": _HEX_KEY_ID},
                                "verify_key": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
                                # YAML turns an unquoted timestamp into a datetime already.
                                "valid_from": {},
                                "valid_until": {},
                            },
                        },
                    },
                },
            },
        },
    },
}


@dataclass(frozen=True)
class PartnerKey:
    """One Ed25519 verify key of a partner and the period it may sign in."""

    key_id: bytes
    verify_key: VerifyKey = field(repr=False)
    valid_from: dt.datetime
    valid_until: dt.datetime

    def valid_at(self, at: dt.datetime) -> bool:
        return self.valid_from <= at < self.valid_until


@dataclass(frozen=True)
class Partner:
    """A registered partner organisation and the certificate CN it connects with."""

    id: str
    type: PartnerType
    certificate_cn: str
    keys: tuple[PartnerKey, ...]
    contact_point: str | None = None
    can_coordinate: bool = False
    capacity: int = 0


@dataclass(frozen=True)
class Registry:
    """All partners, by id and by certificate common name."""

    hub_id: str
    partners: Mapping[str, Partner]
    _by_cn: Mapping[str, Partner] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_cn", {p.certificate_cn: p for p in self.partners.values()})

    def partner(self, partner_id: str) -> Partner | None:
        return self.partners.get(partner_id)

    def by_certificate_cn(self, common_name: str | None) -> Partner | None:
        """The partner whose certificate carries this CN, if any."""
        return self._by_cn.get(common_name) if common_name else None

    def verify_key_for(self, partner: Partner, key_id_: bytes, at: dt.datetime) -> VerifyKey:
        """The partner's key with this id if valid at `at`; else Unauthenticated."""
        for key in partner.keys:
            if key.key_id == key_id_:
                if not key.valid_at(at):
                    raise Unauthenticated("", detail="signing key not valid now")
                return key.verify_key
        raise Unauthenticated("", detail="unknown signing key id")

    @property
    def key_count(self) -> int:
        return sum(len(p.keys) for p in self.partners.values())


def load(path: Path) -> Registry:
    """Load and validate partners.yaml; ConfigError names the file and the field."""
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot read partner registry: {exc}") from exc
    return from_dict(data, source=str(path))


def from_dict(data: Any, *, source: str = "partners.yaml") -> Registry:
    """Validate a parsed registry document and build the Registry."""
    errors = sorted(jsonschema.Draft202012Validator(_SCHEMA).iter_errors(data), key=str)
    if errors:
        err = errors[0]
        where = ".".join(str(p) for p in err.absolute_path) or "(top)"
        raise ConfigError(f"{source}: {where}: {err.message}")
    partners: dict[str, Partner] = {}
    cns: set[str] = set()
    for i, spec in enumerate(data["partners"]):
        where = f"{source}: partners.{i}"
        if spec["id"] in partners:
            raise ConfigError(f"{where}.id: duplicate partner id {spec['id']}")
        if spec["certificate_cn"] in cns:
            raise ConfigError(f"{where}.certificate_cn: used by another partner")
        cns.add(spec["certificate_cn"])
        if spec.get("can_coordinate") and "capacity" not in spec:
            raise ConfigError(f"{where}.capacity: required when can_coordinate is true")
        keys = tuple(_key(k, f"{where}.keys.{j}") for j, k in enumerate(spec["keys"]))
        if len({k.key_id for k in keys}) != len(keys):
            raise ConfigError(f"{where}.keys: duplicate key_id")
        partners[spec["id"]] = Partner(
            id=spec["id"],
            type=PartnerType(spec["type"]),
            certificate_cn=spec["certificate_cn"],
            keys=keys,
            contact_point=spec.get("contact_point"),
            can_coordinate=bool(spec.get("can_coordinate", False)),
            capacity=int(spec.get("capacity", 0)),
        )
    return Registry(hub_id=data["hub_id"], partners=partners)


def _key(spec: dict[str, Any], where: str) -> PartnerKey:
    raw = bytes.fromhex(spec["verify_key"])
    if key_id(raw).hex() != spec["key_id"]:
        raise ConfigError(f"{where}.key_id: does not match the verify_key")
    valid_from = _instant(spec["valid_from"], f"{where}.valid_from")
    valid_until = _instant(spec["valid_until"], f"{where}.valid_until")
    if valid_until <= valid_from:
        raise ConfigError(f"{where}.valid_until: must be after valid_from")
    return PartnerKey(
        key_id=bytes.fromhex(spec["key_id"]),
        verify_key=VerifyKey(raw),
        valid_from=valid_from,
        valid_until=valid_until,
    )


def _instant(value: Any, where: str) -> dt.datetime:
    """An aware datetime from an ISO 8601 string or a YAML timestamp; naive ones are refused."""
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            raise ConfigError(f"{where}: not an ISO 8601 timestamp") from None
    if not isinstance(value, dt.datetime):
        raise ConfigError(f"{where}: not a timestamp")
    if value.tzinfo is None:
        raise ConfigError(f"{where}: needs a time zone, e.g. 2026-01-01T00:00:00Z")
    return value.astimezone(dt.UTC)
