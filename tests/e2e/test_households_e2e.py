"""The demo scenario through real nodes: the hub forms the households the scenario describes."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub import config as hub_config
from hub import household_view, institutions
from hub.store import open_store
from node.identifiers import DutchAddress
from pseudonym.client import PseudonymClient
from seinhuis import demo, transport
from seinhuis.network import Layout
from seinhuis.scenario import DEFAULT_SCENARIO, Scenario
from seinhuis.vocabulary import IdentifierKind

pytestmark = pytest.mark.slow


def test_demo_scenario_households(tmp_path: Path) -> None:
    """Children, parent and address form one household; care-home residents do not; a move
    carries a signal along; a parent elsewhere is a family link."""
    root = tmp_path / "demo"
    holder: dict[str, object] = {}

    def inspect(layout: Layout, pseudonym_port: int) -> None:
        holder["view"] = _view_with_labels(layout, pseudonym_port)

    assert demo.run(root, DEFAULT_SCENARIO, keep_running=False, inspect=inspect) == 0
    view, label_of = holder["view"]  # type: ignore[misc]
    by_label = {label_of.get(h.key, "?"): h for h in view.households}

    gezin_a = by_label["gezin-a"]
    assert len(gezin_a.signal_ids) == 4  # two school signals, the huisarts, the woningcorporatie
    assert len(gezin_a.members) == 3
    care_home_units = [h for h in view.households if h.at_institution]
    assert len(care_home_units) == 2
    assert all(len(h.members) == 1 for h in care_home_units)
    # bewoner-c had a GGD signal at gezin-b, then moved to gezin-c: the signal moved along.
    assert len(by_label["gezin-c"].signal_ids) == 1
    # gezin-b's nuisance signal is consent-based and names no person: its node refuses it
    # (consent cannot be checked for an address alone), so nothing is left there.
    assert "gezin-b" not in by_label
    links = {(label_of[x.parent_household], label_of[x.child_household]) for x in view.family_links}
    assert links == {("vader-a", "gezin-a")}


def _view_with_labels(layout: Layout, pseudonym_port: int):  # type: ignore[no-untyped-def]
    """The hub's household view, with address pseudonyms mapped back to scenario labels by
    pseudonymising the scenario's addresses as a node would (the test plays the municipality)."""
    scenario = Scenario.load(DEFAULT_SCENARIO)
    brp_dir = layout.node_dir("brp-demo")
    tls = transport.TlsFiles(
        layout.root / "ca" / "ca.crt", brp_dir / "tls.crt", brp_dir / "tls.key"
    )
    labels = list(scenario.addresses)
    inputs = [
        DutchAddress(
            a["postcode"],
            int(a["house_number"]),
            a.get("house_letter", ""),
            str(a.get("house_number_addition", "")),
        ).oprf_input
        for a in scenario.addresses.values()
    ]
    with PseudonymClient(f"127.0.0.1:{pseudonym_port}", tls, server_name="pseudonym") as client:
        _, pseudonyms = client.pseudonymize(IdentifierKind.ADDRESS, inputs)
    label_of = dict(zip(pseudonyms, labels, strict=True))
    config = hub_config.load(layout.hub_dir / "hub.toml")
    store = open_store(config.database_url)
    try:
        view = household_view.current_view(store, institutions.load(config.institutions).addresses)
    finally:
        store.close()
    return view, label_of
