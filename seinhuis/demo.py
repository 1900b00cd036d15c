"""`seinhuis demo`: the whole network on this machine, fed a synthetic scenario, with the result.

Starts the pseudonymisation service, the hub and the partner nodes as separate processes on
loopback, feeds demo/scenario.yaml through the nodes' local API, waits until the hub holds
every signal, and prints what the hub received and how it grouped households. Everything it
writes goes under the demo folder (.demo/ by default).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc
from rich.console import Console
from rich.table import Table

from consent import demo as consent_demo
from hub import household_view, institutions
from hub.cli import short_hash
from hub.store import open_store
from node.identifiers import DutchAddress
from pseudonym.client import PseudonymClient
from seinhuis import transport
from seinhuis.errors import Unavailable
from seinhuis.keys_cli import PartnerSpec
from seinhuis.network import Launcher, Layout, Running
from seinhuis.scenario import DEFAULT_SCENARIO, Scenario
from seinhuis.v1 import node_pb2, node_pb2_grpc
from seinhuis.vocabulary import IdentifierKind, PartnerType

console = Console(highlight=False, width=None if sys.stdout.isatty() else 160)


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--root", type=Path, default=Path(".demo"), help="where to write")
    parser.add_argument("--scenario", type=Path, default=DEFAULT_SCENARIO)
    parser.add_argument(
        "--keep-running",
        choices=("auto", "yes", "no"),
        default="auto",
        help="keep the network up until Ctrl-C (auto: when on a terminal and not in CI)",
    )
    parser.set_defaults(func=_cmd)


def _cmd(args: argparse.Namespace) -> int:
    keep = args.keep_running == "yes" or (
        args.keep_running == "auto"
        and sys.stdin.isatty()
        and sys.stdout.isatty()
        and os.environ.get("CI", "").lower() not in ("1", "true", "yes")
    )
    return run(args.root, args.scenario, keep_running=keep)


def run(
    root: Path,
    scenario_path: Path,
    *,
    keep_running: bool,
    inspect: Callable[[Layout, int], None] | None = None,
) -> int:
    """Run the demo; `inspect(layout, pseudonym_port)` is called while everything still runs."""
    scenario = Scenario.load(scenario_path)
    if root.exists():
        shutil.rmtree(root)
    partners = [PartnerSpec(pid, PartnerType(kind)) for pid, kind in scenario.nodes.items()]
    layout = Layout(root)
    console.print(f"[bold]Seinhuis demo[/] in {root}/ ({len(partners)} partner nodes)")
    layout.create(partners)
    layout.create_consent()
    layout.create_dashboard()
    launcher = Launcher(layout)
    try:
        pseudonym = launcher.start(
            "pseudonym", "pseudonym", layout.pseudonym_dir / "pseudonym.toml"
        )
        layout.connect_hub_to_pseudonym(pseudonym.port)
        brp = next(p for p in partners if p.type is PartnerType.BRP)
        _write_institutions(layout, scenario, brp, pseudonym.port)
        # The hub follows the consent registry once that has written its port (below).
        layout.connect_hub_to_consent()
        hub = launcher.start("hub", "hub", layout.hub_dir / "hub.toml")
        # The consent registry with the resident portal, and the development login provider.
        oidc = launcher.start("dev-oidc", "consent dev-oidc", layout.oidc_dir / "dev-oidc.toml")
        registry = launcher.start(
            "consent",
            "consent",
            layout.write_consent_config(
                pseudonym_port=pseudonym.port,
                hub_port=hub.port,
                issuer=f"https://127.0.0.1:{oidc.port}",
            ),
        )
        portal_port = layout.read_port(layout.consent_dir / "portal.port")
        nodes = {
            p.id: launcher.start(
                p.id,
                "node",
                layout.write_node_config(
                    p, hub_port=hub.port, pseudonym_port=pseudonym.port, consent_port=registry.port
                ),
            )
            for p in partners
        }
        _show_services(pseudonym, hub, nodes, registry, oidc)
        granted = consent_demo.grant_scenario_consents(
            layout, scenario, consent_port=registry.port, pseudonym_port=pseudonym.port
        )
        console.print(f"Consent registry: {granted} consents the residents gave earlier")
        ids = _feed(scenario, partners, nodes)
        _wait_delivered(nodes, ids)
        _show_hub(layout)
        _show_cases(layout, partners)
        _show_operator_list(layout, hub.port)
        console.print()
        for line in consent_demo.portal_lines(portal_port):
            console.print(line, markup=False)
        for line in _start_dashboard(layout, launcher):
            console.print(line, markup=False)
        if inspect is not None:
            inspect(layout, pseudonym.port)
        if keep_running:
            console.print("\nThe network keeps running; press Ctrl-C to stop it.")
            try:
                while all(r.alive() for r in launcher.running):
                    time.sleep(0.5)
            except KeyboardInterrupt:
                pass
    finally:
        launcher.stop_all()
    console.print("All services stopped.")
    return 0


def _start_dashboard(layout: Layout, launcher: Launcher) -> list[str]:
    """The staff dashboard on the hub's database, with a development login provider of its
    own (issue 6); returns what to print about it."""
    from hub import staff
    from hub.dashboard.devsetup import dashboard_lines

    login = launcher.start("dashboard-login", "consent dev-oidc", layout.dashboard_oidc_config)
    hub_toml = layout.write_dashboard_config(f"https://127.0.0.1:{login.port}")
    dashboard = launcher.start("dashboard", "hub dashboard", hub_toml)
    members = staff.load(layout.hub_dir / "staff.yaml").members.values()
    return ["", *dashboard_lines(dashboard.port, members)]


def _show_operator_list(layout: Layout, hub_port: int) -> None:
    """What a municipal operator sees: `seinhuis operator list` with the demo's certificate."""
    from seinhuis.cli import main

    config = layout.write_operator_config("operator", hub_port)
    console.print(f"\n[bold]seinhuis operator list --config {config}[/]")
    sys.stdout.flush()
    main(["operator", "list", "--config", str(config)])


def _show_cases(layout: Layout, partners: list[PartnerSpec]) -> None:
    """The cases the hub's judge opened, and what each partner's inbox shows of them."""
    from hub import config as hub_config
    from node import config as node_config
    from node.inbox import Inbox, describe

    config = hub_config.load(layout.hub_dir / "hub.toml")
    # The judge works after acknowledging and the feed then reaches the nodes: give them a moment.
    deadline = time.monotonic() + 30
    cases: list[Any] = []
    views: dict[str, list[Any]] = {}
    while time.monotonic() < deadline:
        store = open_store(config.database_url)
        try:
            cases = store.list_cases()
        finally:
            store.close()
        views = {}
        for p in partners:
            inbox = Inbox(node_config.load(layout.node_dir(p.id) / "node.toml").database)
            try:
                views[p.id] = inbox.cases()
            finally:
                inbox.close()
        if cases and all(
            any(v.regiehouder for v in views.get(pid, [])) for pid in _involved(cases, views)
        ):
            break
        time.sleep(0.5)
    table = Table(title="Cases at the hub (no identities)")
    for col in ("case", "status", "regiehouder", "deadline", "escalation", "signals"):
        table.add_column(col)
    for c in cases:
        table.add_row(
            c.ref,
            c.status,
            c.regiehouder or "-",
            c.deadline.isoformat() if c.deadline else "-",
            str(c.escalation),
            str(c.signals),
        )
    console.print(table)
    for pid, partner_views in views.items():
        if partner_views:
            console.print(f"[bold]Inbox of {pid}[/]")
            for view in partner_views:
                console.print(f"  {describe(view)}")


def _involved(cases: list[Any], views: dict[str, list[Any]]) -> list[str]:
    return [pid for pid, v in views.items() if v]


def _write_institutions(layout: Layout, scenario: Scenario, brp: PartnerSpec, port: int) -> None:
    """The municipality lists its institution addresses as pseudonyms, made by its own node."""
    node_dir = layout.node_dir(brp.id)
    tls = transport.TlsFiles(
        layout.root / "ca" / "ca.crt", node_dir / "tls.crt", node_dir / "tls.key"
    )
    inputs = []
    for label in scenario.institutions():
        a = scenario.addresses[label]
        inputs.append(
            DutchAddress(
                a["postcode"],
                int(a["house_number"]),
                a.get("house_letter", ""),
                str(a.get("house_number_addition", "")),
            ).oprf_input
        )
    with PseudonymClient(f"127.0.0.1:{port}", tls, server_name="pseudonym") as client:
        version, pseudonyms = client.pseudonymize(IdentifierKind.ADDRESS, inputs)
    path = layout.hub_dir / "institutions.yaml"
    institutions.save(
        path,
        institutions.Institutions(version, tuple((p, "zorginstelling") for p in pseudonyms)),
    )
    layout.add_hub_setting('institutions = "institutions.yaml"')


def _stub(run: Running) -> node_pb2_grpc.NodeServiceStub:
    return node_pb2_grpc.NodeServiceStub(grpc.insecure_channel(run.address))


def _feed(
    scenario: Scenario, partners: list[PartnerSpec], nodes: dict[str, Running]
) -> dict[str, list[bytes]]:
    """Population facts through the BRP node, then each signal through its partner's node."""
    from seinhuis import catalogue

    cat = catalogue.load()
    ids: dict[str, list[bytes]] = {p.id: [] for p in partners}
    brp = next(p for p in partners if p.type is PartnerType.BRP)
    stub = _stub(nodes[brp.id])
    for fact in scenario.population_requests():
        ids[brp.id].append(stub.SubmitPopulationEvent(fact, timeout=30).id)
    console.print(f"BRP node: {len(ids[brp.id])} population facts accepted")
    types = {p.id: p.type for p in partners}
    for s in scenario.signals:
        request = scenario.signal_request(s, with_bsn=cat.may_process_bsn(types[s["node"]]))
        try:
            ids[s["node"]].append(_stub(nodes[s["node"]]).SubmitSignal(request, timeout=30).id)
        except grpc.RpcError as exc:
            console.print(f"[red]{s['node']} refused {s['ref']}: {exc.details()}[/]")
    console.print(
        f"Partner nodes: {sum(len(v) for k, v in ids.items() if k != brp.id)} signals accepted"
    )
    return ids


def _wait_delivered(nodes: dict[str, Running], ids: dict[str, list[bytes]]) -> None:
    deadline = time.monotonic() + 60
    pending = {(node, i) for node, node_ids in ids.items() for i in node_ids}
    while pending and time.monotonic() < deadline:
        for node, i in sorted(pending):
            status = _stub(nodes[node]).GetSignalStatus(
                node_pb2.GetSignalStatusRequest(id=i), timeout=10
            )
            if status.state != node_pb2.DELIVERY_STATE_PENDING:
                pending.discard((node, i))
        time.sleep(0.1)
    if pending:
        raise Unavailable(f"{len(pending)} messages were not delivered within 60 s")
    console.print("Every accepted message is at the hub.\n")


def _show_services(
    pseudonym: Running, hub: Running, nodes: dict[str, Running], *others: Running
) -> None:
    table = Table(title="Services on loopback")
    table.add_column("service")
    table.add_column("address")
    table.add_column("log")
    for run in (pseudonym, hub, *nodes.values(), *others):
        table.add_row(run.name, run.address, str(run.log_path))
    console.print(table)


def _short(pseudonym: bytes | None) -> str:
    return short_hash(pseudonym)


def _show_hub(layout: Layout) -> None:
    from hub import config as hub_config

    config = hub_config.load(layout.hub_dir / "hub.toml")
    store = open_store(config.database_url)
    try:
        table = Table(title="What the hub received (pseudonyms as short hashes; no identities)")
        for col in (
            "partner",
            "signal",
            "domain",
            "urgency",
            "basis",
            "observed",
            "keep until",
            "person",
            "address",
        ):
            table.add_column(col)
        for stored in store.list_signals():
            r, s = stored.received, stored.received.signal
            table.add_row(
                r.partner_id,
                s.signal_type.value,
                s.life_domain.value,
                s.urgency.value,
                s.legal_basis.value,
                s.observed_on.isoformat(),
                s.keep_until.isoformat(),
                _short(s.person_pseudonym),
                _short(s.address_pseudonym),
            )
        console.print(table)
        listed = institutions.load(config.institutions).addresses
        view = household_view.current_view(store, listed)
        table = Table(title="Households the hub formed from pseudonyms")
        for col in ("household", "kind", "members", "signals"):
            table.add_column(col)
        for h in view.households:
            kind = "persoon in instelling" if h.at_institution else "adres"
            table.add_row(_short(h.key), kind, str(len(h.members)), str(len(h.signal_ids)))
        console.print(table)
        for link in view.family_links:
            console.print(
                f"Family link: parent in household {_short(link.parent_household)}, "
                f"child in {_short(link.child_household)}"
            )
    finally:
        store.close()
