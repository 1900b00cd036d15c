"""partners.yaml: validated on load, partners found by id and certificate, keys by id and time."""

from __future__ import annotations

import copy
import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import yaml

from hub.registry import from_dict, load
from seinhuis.errors import ConfigError, Unauthenticated
from seinhuis.vocabulary import PartnerType
from tests.hub.builders import partner_keys

NOW = dt.datetime.now(dt.UTC)
GGD = partner_keys("ggd-demo", PartnerType.GGD)
WOCO = partner_keys("woco-demo", PartnerType.WONINGCORPORATIE)


def document() -> dict[str, Any]:
    return {"hub_id": "hub", "partners": [GGD.registry_entry(), WOCO.registry_entry()]}


def test_a_valid_registry_loads_from_yaml(tmp_path: Path) -> None:
    """Partners load with their type, certificate CN and keys; unquoted YAML timestamps work."""
    text = yaml.safe_dump(document()).replace("'", "")  # timestamps become YAML timestamps
    path = tmp_path / "partners.yaml"
    path.write_text(text)
    registry = load(path)
    partner = registry.partner("ggd-demo")
    assert partner is not None and partner.type is PartnerType.GGD
    assert registry.by_certificate_cn("woco-demo") is registry.partner("woco-demo")
    assert registry.by_certificate_cn("nobody") is None
    assert registry.by_certificate_cn(None) is None
    assert registry.key_count == 2


def test_verify_key_for_finds_the_key_valid_now() -> None:
    """The partner's key by id when valid; unknown or out-of-period keys are Unauthenticated."""
    registry = from_dict(document())
    partner = registry.partner("ggd-demo")
    assert partner is not None
    key_id = bytes.fromhex(GGD.key_id_hex)
    assert registry.verify_key_for(partner, key_id, NOW) == GGD.signing_key.verify_key
    for wrong_id, at in [(b"\x00" * 8, NOW), (key_id, NOW + dt.timedelta(days=400))]:
        with pytest.raises(Unauthenticated) as info:
            registry.verify_key_for(partner, wrong_id, at)
        assert info.value.message == Unauthenticated.fixed_message


def _mutated(change: Any) -> dict[str, Any]:
    doc = copy.deepcopy(document())
    change(doc)
    return doc


@pytest.mark.parametrize(
    ("change", "where"),
    [
        (lambda d: d["partners"][0].update(id="GGD Demo"), "partners.0.id"),
        (lambda d: d["partners"][0].update(type="BAKKER"), "partners.0.type"),
        (lambda d: d["partners"][0]["keys"][0].update(key_id="00" * 8), "partners.0.keys.0.key_id"),
        (
            lambda d: d["partners"][0]["keys"][0].update(verify_key="zz"),
            "partners.0.keys.0.verify_key",
        ),
        (
            lambda d: d["partners"][0]["keys"][0].update(valid_from="2026-01-01T00:00:00"),
            "partners.0.keys.0.valid_from",
        ),
        (
            lambda d: d["partners"][0]["keys"][0].update(valid_until="2000-01-01T00:00:00Z"),
            "partners.0.keys.0.valid_until",
        ),
        (lambda d: d["partners"][1].update(id="ggd-demo"), "partners.1.id"),
        (lambda d: d["partners"][1].update(certificate_cn="ggd-demo"), "partners.1.certificate_cn"),
        (lambda d: d["partners"][0].update(keys=[]), "partners.0.keys"),
        (lambda d: d.pop("hub_id"), "(top)"),
    ],
)
def test_invalid_registries_raise_config_error_naming_the_field(change: Any, where: str) -> None:
    """Bad ids, types, key ids, timestamps and duplicates are refused at load."""
    with pytest.raises(ConfigError) as info:
        from_dict(_mutated(change), source="partners.yaml")
    assert f"partners.yaml: {where}" in info.value.message


def test_coordination_fields_default_to_not_coordinating() -> None:
    """Without the optional fields a partner has no contact point and never coordinates."""
    partner = from_dict(document()).partner("ggd-demo")
    assert partner is not None
    assert (partner.contact_point, partner.can_coordinate, partner.capacity) == (None, False, 0)


def test_coordination_fields_load_and_are_validated() -> None:
    """contact_point, can_coordinate and capacity load; wrong types or a missing capacity fail."""

    def set_fields(doc: dict[str, Any]) -> None:
        doc["partners"][0].update(
            contact_point="Sociaal team Noord, 0800-1234", can_coordinate=True, capacity=50
        )

    partner = from_dict(_mutated(set_fields)).partner("ggd-demo")
    assert partner is not None
    assert partner.contact_point == "Sociaal team Noord, 0800-1234"
    assert partner.can_coordinate and partner.capacity == 50
    for bad in [
        {"can_coordinate": "yes", "capacity": 1},
        {"capacity": -1},
        {"contact_point": ""},
        {"can_coordinate": True},
    ]:
        with pytest.raises(ConfigError):
            from_dict(_mutated(lambda doc, bad=bad: doc["partners"][0].update(bad)))


def test_demo_partners_get_sensible_coordination_values() -> None:
    """keys add_partner's demo values: the social team coordinates the most, GP and BRP never."""
    from seinhuis.keys_cli import demo_coordination

    team = demo_coordination(PartnerType.SOCIAAL_TEAM, "team")
    assert team["can_coordinate"] and team["capacity"] == 50 and team["contact_point"]
    for kind in (PartnerType.GGD, PartnerType.SCHOOL, PartnerType.WONINGCORPORATIE):
        assert demo_coordination(kind, "x")["capacity"] == 10
    for kind in (PartnerType.HUISARTS, PartnerType.BRP):
        assert demo_coordination(kind, "x")["can_coordinate"] is False
    doc = document()
    doc["partners"][0].update(demo_coordination(PartnerType.GGD, "ggd-demo"))
    assert from_dict(doc).partner("ggd-demo") is not None
