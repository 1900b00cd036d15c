"""A service's copy of the partner registry: read from the hub's format, kept in step by
`seinhuis keys`, and refused when it is malformed or names the hub."""

from __future__ import annotations

from pathlib import Path

import pytest

from consent.access import Access, Operation
from pseudonym import wiring as pseudonym_wiring
from pseudonym.config import PseudonymConfig
from seinhuis import partner_list
from seinhuis.errors import ConfigError, PermissionDenied
from seinhuis.keys_cli import PartnerSpec, add_partner, init_network_keys
from seinhuis.partner_list import ListedPartner
from seinhuis.transport import TlsFiles
from seinhuis.vocabulary import PartnerType


def test_the_copies_follow_the_hub_registry(tmp_path: Path) -> None:
    """`keys init` and `add-partner` copy hub/partners.yaml to the pseudonymisation service and,
    once it exists, the consent registry; the copies list each partner by certificate name."""
    init_network_keys(tmp_path, [PartnerSpec("ggd-west", PartnerType.GGD)])
    assert partner_list.load(tmp_path / "pseudonym" / "partners.yaml") == {
        "ggd-west": ListedPartner("ggd-west", PartnerType.GGD)
    }
    (tmp_path / "consent").mkdir()
    add_partner(tmp_path, PartnerSpec("school-oost", PartnerType.SCHOOL))
    for service in ("pseudonym", "consent"):
        listed = partner_list.load(tmp_path / service / "partners.yaml")
        assert listed["school-oost"] == ListedPartner("school-oost", PartnerType.SCHOOL)
        assert set(listed) == {"ggd-west", "school-oost"}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "partners: a list of partners is required"),
        ({"partners": ["ggd"]}, "partners.0: must be a mapping"),
        ({"partners": [{"id": "a", "type": "GGD"}]}, "partners.0.certificate_cn"),
        ({"partners": [{"certificate_cn": "a", "type": "GGD"}]}, "partners.0.id"),
        ({"partners": [{"id": "a", "certificate_cn": "a", "type": "NURSE"}]}, "partners.0.type"),
        (
            {
                "partners": [
                    {"id": "a", "certificate_cn": "a", "type": "GGD"},
                    {"id": "b", "certificate_cn": "a", "type": "GGD"},
                ]
            },
            "partners.1.certificate_cn: a is listed twice",
        ),
    ],
)
def test_a_malformed_list_is_refused_naming_the_entry(data: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        partner_list.from_data(data, source="partners.yaml")


def test_consent_access_denies_names_it_does_not_list() -> None:
    """Portal, hub and listed partners have their roles; every other name is refused."""
    access = Access(
        frozenset({"portal"}),
        frozenset({"hub"}),
        {"ggd-west": ListedPartner("ggd-west", PartnerType.GGD)},
    )
    access.authorize("ggd-west", Operation.CHECK)
    access.authorize_check_for("ggd-west", "ggd-west", PartnerType.GGD)
    for name in ("anna.staff", "consent", "ggd-oost"):
        with pytest.raises(PermissionDenied, match=r"rule access\.unknown"):
            access.authorize(name, Operation.CHECK)
    with pytest.raises(PermissionDenied, match="own-type"):
        access.authorize_check_for("ggd-west", "ggd-west", PartnerType.HUISARTS)
    with pytest.raises(PermissionDenied, match="own-partner"):
        access.authorize_check_for("ggd-west", "ggd-oost", PartnerType.GGD)
    with pytest.raises(ValueError, match="partner"):
        Access(
            frozenset({"portal"}),
            frozenset({"hub"}),
            {"hub": ListedPartner("hub", PartnerType.GGD)},
        )


def test_the_pseudonym_service_refuses_a_list_that_names_the_hub(tmp_path: Path) -> None:
    """A copy that would make the hub an evaluator stops the service at start."""
    (tmp_path / "partners.yaml").write_text(
        "partners:\n- {id: hub, type: GGD, certificate_cn: hub}\n"
    )
    config = PseudonymConfig(
        keyring=tmp_path / "keyring",
        audit_database=tmp_path / "audit.db",
        tls=TlsFiles(tmp_path / "ca.crt", tmp_path / "tls.crt", tmp_path / "tls.key"),
        partners=tmp_path / "partners.yaml",
    )
    with pytest.raises(ConfigError, match="the hub may never evaluate"):
        pseudonym_wiring.build(config)
