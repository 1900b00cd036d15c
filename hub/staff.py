"""The staff registry (staff.yaml): municipal staff who may use the operator interface.

Like the partner registry it pins each member to the common name of a client certificate from
the municipality's CA. A staff certificate is never a partner's: the two registries may not
share a common name, so a staff certificate is refused by the partner-facing services and a
partner certificate by the operator service.

```yaml
staff:
  - id: anna-operator          # [a-z0-9][a-z0-9-]{1,62}
    role: OPERATOR             # OPERATOR, PROCESREGISSEUR or BESTUURDER
    certificate_cn: anna-operator.staff
```
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from hub.config import ID_PATTERN
from hub.registry import Registry
from seinhuis.errors import ConfigError

#: Staff certificates carry this suffix after the member's id; a partner id has no dot, so a
#: staff common name can never be a partner's.
CN_SUFFIX = ".staff"


class StaffRole(StrEnum):
    """What a member of staff does (DOMAIN.md): operators run the desk and see every case; a
    procesregisseur takes over escalated cases; a bestuurder oversees high-risk ones."""

    OPERATOR = "OPERATOR"
    PROCESREGISSEUR = "PROCESREGISSEUR"
    BESTUURDER = "BESTUURDER"


_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["staff"],
    "properties": {
        "staff": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["id", "role", "certificate_cn"],
                "properties": {
                    "id": {"type": "string", "pattern": f"^{ID_PATTERN.pattern}$"},
                    "role": {"enum": [r.value for r in StaffRole]},
                    "certificate_cn": {"type": "string", "minLength": 1, "maxLength": 64},
                },
            },
        },
    },
}


@dataclass(frozen=True)
class StaffMember:
    id: str
    role: StaffRole
    certificate_cn: str


@dataclass(frozen=True)
class StaffRegistry:
    """All staff, by certificate common name."""

    members: Mapping[str, StaffMember]
    _by_cn: Mapping[str, StaffMember] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_cn", {m.certificate_cn: m for m in self.members.values()})

    def by_certificate_cn(self, common_name: str | None) -> StaffMember | None:
        return self._by_cn.get(common_name) if common_name else None

    def check_apart_from(self, partners: Registry, source: str = "staff.yaml") -> None:
        """A certificate name may belong to a partner or to staff, never to both."""
        for member in self.members.values():
            if partners.by_certificate_cn(member.certificate_cn) is not None:
                raise ConfigError(
                    f"{source}: {member.id}.certificate_cn: also a partner's certificate name"
                )


EMPTY = StaffRegistry({})


def common_name(staff_id: str) -> str:
    """The certificate common name `seinhuis keys add-staff` gives a member."""
    return staff_id + CN_SUFFIX


def load(path: Path | None) -> StaffRegistry:
    """Load and validate staff.yaml (None: nobody); ConfigError names the file and the field."""
    if path is None:
        return EMPTY
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot read staff registry: {exc}") from exc
    return from_dict(data, source=str(path))


def from_dict(data: Any, *, source: str = "staff.yaml") -> StaffRegistry:
    errors = sorted(jsonschema.Draft202012Validator(_SCHEMA).iter_errors(data), key=str)
    if errors:
        err = errors[0]
        where = ".".join(str(p) for p in err.absolute_path) or "(top)"
        raise ConfigError(f"{source}: {where}: {err.message}")
    members: dict[str, StaffMember] = {}
    cns: set[str] = set()
    for i, spec in enumerate(data["staff"]):
        if spec["id"] in members:
            raise ConfigError(f"{source}: staff.{i}.id: duplicate staff id {spec['id']}")
        if spec["certificate_cn"] in cns:
            raise ConfigError(f"{source}: staff.{i}.certificate_cn: used by another member")
        cns.add(spec["certificate_cn"])
        members[spec["id"]] = StaffMember(
            spec["id"], StaffRole(spec["role"]), spec["certificate_cn"]
        )
    return StaffRegistry(members)


def save(path: Path, registry: StaffRegistry) -> None:
    """Write staff.yaml (atomically: a temp file, then rename)."""
    document = {
        "staff": [
            {"id": m.id, "role": m.role.value, "certificate_cn": m.certificate_cn}
            for m in registry.members.values()
        ]
    }
    header = "# The hub's staff registry: who may use the operator interface, in which role.\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(header + yaml.safe_dump(document, sort_keys=False))
    tmp.replace(path)
