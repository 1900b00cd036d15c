"""A service's own copy of the partner registry: which certificate names belong to which partner.

The pseudonymisation service and the consent registry admit partner nodes by the common name
of their (CA-verified) client certificate, and only those listed here. The file has the format
of the hub's `partners.yaml` (docs/architecture.md); `seinhuis keys init` and `add-partner`
keep a copy in each service's folder. Only `partners[].id`, `type` and `certificate_cn` are
read: signing keys and coordination settings are the hub's business.

Each domain keeps its own copy on purpose: a name the hub's side adds to its registry does not
become a pseudonym evaluator until the pseudonymisation service's operator copies it over.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from seinhuis.errors import ConfigError
from seinhuis.vocabulary import PartnerType


@dataclass(frozen=True)
class ListedPartner:
    id: str
    type: PartnerType


def load(path: Path) -> Mapping[str, ListedPartner]:
    """Certificate common name -> the partner; ConfigError names the file and the entry."""
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot read the partner list: {exc}") from exc
    return from_data(data, source=str(path))


def from_data(data: Any, *, source: str) -> Mapping[str, ListedPartner]:
    if not isinstance(data, Mapping) or not isinstance(data.get("partners"), list):
        raise ConfigError(f"{source}: partners: a list of partners is required")
    found: dict[str, ListedPartner] = {}
    for i, entry in enumerate(data["partners"]):
        where = f"{source}: partners.{i}"
        if not isinstance(entry, Mapping):
            raise ConfigError(f"{where}: must be a mapping")
        name = entry.get("certificate_cn")
        if not isinstance(name, str) or not name:
            raise ConfigError(f"{where}.certificate_cn: must be a certificate common name")
        if name in found:
            raise ConfigError(f"{where}.certificate_cn: {name} is listed twice")
        partner_id = entry.get("id")
        if not isinstance(partner_id, str) or not partner_id:
            raise ConfigError(f"{where}.id: must be a partner id")
        kind = entry.get("type")
        if not isinstance(kind, str) or kind not in PartnerType.__members__:
            raise ConfigError(f"{where}.type: not a partner type")
        found[name] = ListedPartner(partner_id, PartnerType[kind])
    return found
