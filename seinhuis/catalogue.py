"""The signal-type catalogue: who may send what, in which life domain, on which legal basis,
kept how long. Loaded from policies/catalogue.yaml and validated; pure domain, no I/O beyond load.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from seinhuis.errors import ConfigError, PermissionDenied
from seinhuis.vocabulary import LegalBasis, LifeDomain, PartnerType, SignalType

DEFAULT_PATH = Path(__file__).resolve().parent.parent / "policies" / "catalogue.yaml"

_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["version", "partner_types", "signal_types"],
    "properties": {
        "version": {"const": 1},
        "partner_types": {
            "type": "object",
            "propertyNames": {"enum": [p.value for p in PartnerType]},
            "additionalProperties": {
                "type": "object",
                "additionalProperties": False,
                "required": ["may_process_bsn"],
                "properties": {"may_process_bsn": {"type": "boolean"}},
            },
        },
        "signal_types": {
            "type": "object",
            "propertyNames": {"enum": [s.value for s in SignalType]},
            "additionalProperties": {
                "type": "object",
                "additionalProperties": False,
                "required": ["senders", "life_domain", "legal_basis", "retention"],
                "properties": {
                    "senders": {
                        "type": "array",
                        "minItems": 1,
                        "items": {"enum": [p.value for p in PartnerType]},
                    },
                    "life_domain": {"enum": [d.value for d in LifeDomain]},
                    "legal_basis": {"enum": [b.value for b in LegalBasis]},
                    "arrears": {"type": "boolean"},
                    "retention": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["months"],
                        "properties": {
                            "months": {"type": "integer", "minimum": 1, "maximum": 120},
                            "until_age": {"type": "integer", "minimum": 1, "maximum": 120},
                        },
                    },
                },
            },
        },
    },
}
#: The catalogue's JSON schema; `seinhuis policies check` validates with it to name lines too.
SCHEMA = _SCHEMA


@dataclass(frozen=True)
class SignalTypeRule:
    signal_type: SignalType
    senders: frozenset[PartnerType]
    life_domain: LifeDomain
    legal_basis: LegalBasis
    arrears: bool
    retention_months: int
    retention_until_age: int | None

    def keep_until(self, observed_on: dt.date, birth_date: dt.date | None) -> dt.date:
        """The last day the signal may be kept: its retention, or an age limit if sooner."""
        end = _add_months(observed_on, self.retention_months)
        if self.retention_until_age is not None and birth_date is not None:
            end = min(end, _add_months(birth_date, 12 * self.retention_until_age))
        return end


@dataclass(frozen=True)
class Catalogue:
    signal_types: dict[SignalType, SignalTypeRule]
    bsn_partner_types: frozenset[PartnerType]

    def rule(self, signal_type: SignalType) -> SignalTypeRule:
        try:
            return self.signal_types[signal_type]
        except KeyError:
            raise PermissionDenied(
                f"catalogue: signal type {signal_type} is not in this municipality's catalogue"
            ) from None

    def check_sender(self, partner_type: PartnerType, signal_type: SignalType) -> SignalTypeRule:
        """The rule for this type, if this kind of partner may send it; else PermissionDenied."""
        rule = self.rule(signal_type)
        if partner_type not in rule.senders:
            raise PermissionDenied(
                f"catalogue rule signal_types.{signal_type}.senders: a {partner_type} "
                f"may not send {signal_type}"
            )
        return rule

    def may_process_bsn(self, partner_type: PartnerType) -> bool:
        return partner_type in self.bsn_partner_types


def load(path: Path = DEFAULT_PATH) -> Catalogue:
    """Load and validate the catalogue; ConfigError names the file and the field."""
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot read catalogue: {exc}") from exc
    errors = sorted(jsonschema.Draft202012Validator(_SCHEMA).iter_errors(data), key=str)
    if errors:
        err = errors[0]
        where = ".".join(str(p) for p in err.absolute_path) or "(top)"
        raise ConfigError(f"{path}: {where}: {err.message}")
    rules = {}
    for name, spec in data["signal_types"].items():
        st = SignalType(name)
        rules[st] = SignalTypeRule(
            signal_type=st,
            senders=frozenset(PartnerType(p) for p in spec["senders"]),
            life_domain=LifeDomain(spec["life_domain"]),
            legal_basis=LegalBasis(spec["legal_basis"]),
            arrears=bool(spec.get("arrears", False)),
            retention_months=spec["retention"]["months"],
            retention_until_age=spec["retention"].get("until_age"),
        )
    bsn = frozenset(
        PartnerType(p) for p, s in data["partner_types"].items() if s["may_process_bsn"]
    )
    return Catalogue(signal_types=rules, bsn_partner_types=bsn)


def _add_months(day: dt.date, months: int) -> dt.date:
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    for d in (day.day, 30, 29, 28):
        try:
            return dt.date(year, month, d)
        except ValueError:
            continue
    raise AssertionError("unreachable")
