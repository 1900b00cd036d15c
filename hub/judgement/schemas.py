"""JSON schemas of the judgement's policy files (matching, regie, deadlines, retention)."""

from __future__ import annotations

from typing import Any

from hub.judgement.model import CaseStatus, EscalationLevel, Outcome
from seinhuis.vocabulary import LifeDomain, PartnerType, WithdrawReason

#: Facts a condition may count (`min_<fact>` / `max_<fact>`).
COUNTS = (
    "signals",
    "partners",
    "life_domains",
    "urgent_signals",
    "arrears_senders",
    "members_with_signals",
)
#: Flags a matching rule may test.
MATCHING_FLAGS = ("only_arrears",)
#: Flags an escalation rule may test, on top of the counts.
ESCALATION_FLAGS = ("deadline_passed", "declined", "second_deadline_passed")

NAME: dict[str, Any] = {"type": "string", "pattern": "^[a-z][a-z0-9_]{1,62}$"}
DESCRIPTION: dict[str, Any] = {"type": "string", "minLength": 10}
DATE: dict[str, Any] = {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}$"}
URGENCIES = ["NORMAAL", "HOOG"]


def _conditions(flags: tuple[str, ...]) -> dict[str, Any]:
    props: dict[str, Any] = {}
    for fact in COUNTS:
        props[f"min_{fact}"] = {"type": "integer", "minimum": 0, "maximum": 1000}
        props[f"max_{fact}"] = {"type": "integer", "minimum": 0, "maximum": 1000}
    for flag in flags:
        props[flag] = {"type": "boolean"}
    return {
        "type": "object",
        "additionalProperties": False,
        "minProperties": 1,
        "properties": props,
    }


def _rule(flags: tuple[str, ...], **extra: dict[str, Any]) -> dict[str, Any]:
    """A named rule with either `when` (all conditions) or `any_of` (alternatives)."""
    conditions = _conditions(flags)
    return {
        "type": "object",
        "additionalProperties": False,
        "required": ["name", "description", *extra],
        "properties": {
            "name": NAME,
            "description": DESCRIPTION,
            "when": conditions,
            "any_of": {"type": "array", "minItems": 1, "items": conditions},
            **extra,
        },
    }


def _named(**props: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "additionalProperties": False,
        "required": ["name", "description", *props],
        "properties": {"name": NAME, "description": DESCRIPTION, **props},
    }


MATCHING: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": [
        "version",
        "window_days",
        "duplicates",
        "case_rules",
        "outreach_rules",
        "basis_lost",
    ],
    "properties": {
        "version": {"const": 1},
        "window_days": {"type": "integer", "minimum": 1, "maximum": 730},
        "duplicates": _named(keep={"const": "highest_urgency"}),
        "case_rules": {"type": "array", "minItems": 1, "items": _rule(MATCHING_FLAGS)},
        "outreach_rules": {"type": "array", "items": _rule(MATCHING_FLAGS)},
        "basis_lost": _named(
            close_when_status={
                "type": "array",
                "uniqueItems": True,
                "items": {"enum": [s.value for s in CaseStatus if s is not CaseStatus.CLOSED]},
            },
            outcome={"enum": [o.value for o in Outcome]},
        ),
    },
}

REGIE_KINDS = ["keep_existing", "resident_preference", "domain_weight", "fallback"]

REGIE: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["version", "rules", "domain_weights", "urgency_factor"],
    "properties": {
        "version": {"const": 1},
        "rules": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["name", "description", "kind"],
                "properties": {
                    "name": NAME,
                    "description": DESCRIPTION,
                    "kind": {"enum": REGIE_KINDS},
                    "respect_capacity": {"type": "boolean"},
                    "partner_type": {"enum": [p.value for p in PartnerType]},
                },
            },
        },
        "domain_weights": {
            "type": "object",
            "propertyNames": {"enum": [d.value for d in LifeDomain]},
            "additionalProperties": {
                "type": "object",
                "propertyNames": {"enum": [p.value for p in PartnerType]},
                "additionalProperties": {"type": "integer", "minimum": 0, "maximum": 100},
            },
        },
        "urgency_factor": {
            "type": "object",
            "additionalProperties": False,
            "required": URGENCIES,
            "properties": {u: {"type": "integer", "minimum": 1, "maximum": 100} for u in URGENCIES},
        },
    },
}

DEADLINES: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["version", "calendar", "response", "escalation"],
    "properties": {
        "version": {"const": 1},
        "calendar": {
            "type": "object",
            "additionalProperties": False,
            "required": ["holidays", "weekend"],
            "properties": {
                "holidays": {"const": "NL"},
                "weekend": {
                    "type": "array",
                    "uniqueItems": True,
                    "items": {
                        "enum": [
                            "MONDAY",
                            "TUESDAY",
                            "WEDNESDAY",
                            "THURSDAY",
                            "FRIDAY",
                            "SATURDAY",
                            "SUNDAY",
                        ]
                    },
                    "maxItems": 6,
                },
                "also_closed": {"type": "array", "items": DATE},
                "open_on": {"type": "array", "items": DATE},
            },
        },
        "response": {
            "type": "object",
            "additionalProperties": False,
            "required": ["working_days"],
            "properties": {
                "working_days": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": URGENCIES,
                    "properties": {
                        u: {"type": "integer", "minimum": 1, "maximum": 60} for u in URGENCIES
                    },
                }
            },
        },
        "escalation": {
            "type": "object",
            "additionalProperties": False,
            "required": ["procesregisseur_working_days", "rules"],
            "properties": {
                "procesregisseur_working_days": {"type": "integer", "minimum": 1, "maximum": 60},
                "rules": {
                    "type": "array",
                    "minItems": 1,
                    "items": _rule(
                        ESCALATION_FLAGS,
                        to={"enum": [lv.name for lv in EscalationLevel if lv]},
                    ),
                },
            },
        },
    },
}

RETENTION: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["version", "closed_cases", "withdrawn"],
    "properties": {
        "version": {"const": 1},
        "closed_cases": _named(
            reduce_after_months={"type": "integer", "minimum": 1, "maximum": 120}
        ),
        "withdrawn": {
            "type": "array",
            "items": {
                **_named(
                    reason={"enum": [r.value for r in WithdrawReason]},
                    action={"enum": ["ERASE", "KEEP_UNTIL_EXPIRY"]},
                ),
                # Rule 9: a signal withdrawn as unjustified is erased, never archived.
                "if": {"properties": {"reason": {"const": "UNJUSTIFIED"}}},
                "then": {"properties": {"action": {"const": "ERASE"}}},
            },
        },
    },
}
