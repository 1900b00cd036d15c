"""Every code a resident could see has a plain-Dutch label, and dates read the Dutch way."""

from __future__ import annotations

import datetime as dt
import re
from enum import StrEnum
from pathlib import Path

import pytest

import consent.model
import consent.registry
import consent.representation
from consent.model import Decision, EntryState, Party, Purpose
from consent.portal import texts
from consent.portal.household import AccessKind
from consent.portal.records import ObjectionReason, ObjectionState, RegiehouderChoice
from seinhuis.vocabulary import LegalBasis, LifeDomain, PartnerType, SignalType


@pytest.mark.parametrize(
    ("enum", "labels"),
    [
        (SignalType, texts.SIGNAL_TYPES),
        (PartnerType, texts.PARTNER_TYPES),
        (LifeDomain, texts.LIFE_DOMAINS),
        (LegalBasis, texts.LEGAL_BASES),
        (Purpose, texts.PURPOSES),
        (Decision, texts.DECISIONS),
        (EntryState, texts.ENTRY_STATES),
        (Party, texts.AWAITING),
        (RegiehouderChoice, texts.REGIEHOUDER_CHOICES),
        (ObjectionReason, texts.OBJECTION_REASONS),
        (ObjectionState, texts.OBJECTION_STATES),
        (AccessKind, texts.ACCESS_KINDS),
    ],
)
def test_every_member_has_a_label(enum: type[StrEnum], labels: dict[StrEnum, str]) -> None:
    """No code reaches a resident bare: each member has a label that is not the code."""
    assert set(labels) == set(enum)
    for member, label in labels.items():
        assert label.strip() and label != member.value


def test_every_registry_rule_has_a_dutch_message() -> None:
    """The rules consent.registry and consent.representation name are all translated."""
    named: set[str] = set()
    for module in (consent.model, consent.registry, consent.representation):
        source = Path(module.__file__ or "").read_text()
        named |= set(re.findall(r"rule ([a-z0-9.-]+)[:)]", source))
    assert "validity.inverted" in named and "overlap" in named
    assert named <= set(texts.RULE_MESSAGES)


def test_dates_and_times_read_in_dutch_time() -> None:
    assert texts.date_nl(dt.date(2027, 3, 1)) == "1 maart 2027"
    winter = dt.datetime(2027, 1, 31, 23, 30, tzinfo=dt.UTC)
    assert texts.datetime_nl(winter) == "1 februari 2027 om 00:30"
    summer = dt.datetime(2027, 7, 1, 12, 0, tzinfo=dt.UTC)
    assert texts.datetime_nl(summer) == "1 juli 2027 om 14:00"
    assert (texts.years_nl(1), texts.years_nl(14)) == ("1 jaar", "14 jaar")


def test_every_event_the_portal_logs_is_in_the_catalog() -> None:
    """Unlisted events lose their fields; the portal's are all listed, with what they carry."""
    from seinhuis.logs import EVENTS

    root = Path(consent.model.__file__ or "").parent / "portal"
    logged: set[str] = set()
    for module in root.rglob("*.py"):
        logged |= set(
            re.findall(r'log\.(?:info|warning|error)\(\s*"([a-z_.]+)"', module.read_text())
        )
    assert {"portal.logged_in", "portal.login_failed", "dev_oidc.logged_in"} <= logged
    assert logged <= set(EVENTS)
