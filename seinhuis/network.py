"""A whole Seinhuis network on one machine: configs for every service and a process launcher.

Used by `seinhuis demo` and by the end-to-end tests. Every service runs as its own process,
listens on loopback port 0 and writes the port it got to a file the launcher reads back.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from seinhuis.errors import Unavailable
from seinhuis.keys_cli import PartnerSpec, add_staff, init_network_keys, write_operator_config


def _toml_str(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def hub_names(count: int) -> list[str]:
    """The folders of `count` hub processes sharing one database: hub, hub-2, hub-3, ..."""
    return ["hub", *(f"hub-{i}" for i in range(2, count + 1))]


#: Municipal staff every local network has (id, role), for `seinhuis operator`.
DEFAULT_STAFF = (("operator", "OPERATOR"), ("procesregisseur", "PROCESREGISSEUR"))

#: Every service of a local network serves Prometheus metrics on loopback, port in metrics.port.
METRICS_SETTINGS = 'metrics_listen = "127.0.0.1:0"\nmetrics_port_file = "metrics.port"\n'


@dataclass
class Layout:
    """Where a network's keys, configs, databases and logs live."""

    root: Path

    @property
    def hub_dir(self) -> Path:
        """The (first) hub's folder: its config, and the keys and registry every hub uses."""
        return self.root / "hub"

    def hub_dirs(self) -> list[Path]:
        """Every hub process's folder: hub/, then hub-2/, hub-3/, ... (see hub_names)."""
        return sorted(
            (d for d in self.root.glob("hub*") if (d / "hub.toml").exists()),
            key=lambda d: (d.name != "hub", len(d.name), d.name),
        )

    @property
    def pseudonym_dir(self) -> Path:
        return self.root / "pseudonym"

    def node_dir(self, partner_id: str) -> Path:
        return self.root / "nodes" / partner_id

    @property
    def log_dir(self) -> Path:
        return self.root / "logs"

    def staff_dir(self, staff_id: str) -> Path:
        """A staff member's certificate and operator.toml (seinhuis keys add-staff)."""
        return self.root / "staff" / staff_id

    def write_operator_config(self, staff_id: str, hub_port: int) -> Path:
        """The member's operator.toml pointing at the running hub."""
        return write_operator_config(self.staff_dir(staff_id), f"127.0.0.1:{hub_port}")

    def create(
        self,
        partners: list[PartnerSpec],
        *,
        database_url: str | None = None,
        capture_requests: bool = False,
        hubs: int = 1,
    ) -> None:
        """Keys for everyone, and the hubs' and pseudonymisation service's configs.

        capture_requests: the hub and the service append every request they receive to
        received.bin in their folder (for the privacy tests).
        hubs: how many hub processes share the one database (folders from hub_names).
        """
        init_network_keys(self.root, partners)
        for staff_id, role in DEFAULT_STAFF:
            add_staff(self.root, staff_id, role)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        for name in hub_names(hubs):
            self.write_hub_config(
                database_url=database_url, capture_requests=capture_requests, name=name
            )
        self.write_pseudonym_config(capture_requests=capture_requests)

    def write_hub_config(
        self, *, database_url: str | None = None, capture_requests: bool = False, name: str = "hub"
    ) -> Path:
        """One hub process's config in its own folder (`name`); every hub has the same identity
        (keys and registry in hub/) and the same database, so they take turns at the work."""
        keys = "" if name == "hub" else "../hub/"
        url = database_url or (
            "sqlite:///hub.db" if name == "hub" else f"sqlite:///{self.hub_dir / 'hub.db'}"
        )
        folder = self.root / name
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "hub.toml"
        path.write_text(
            "[hub]\n"
            'id = "hub"\n'
            'listen = "127.0.0.1:0"\n'
            'port_file = "hub.port"\n'
            f"database_url = {_toml_str(url)}\n"
            f'registry = "{keys}partners.yaml"\n'
            f'staff = "{keys}staff.yaml"\n'
            f'sealing_keys = ["{keys}sealing.key"]\n'
            # As in production: judging on its own core, never slowing the intake down.
            'judge = "process"\n'
            + METRICS_SETTINGS
            + ('capture_requests_file = "received.bin"\n' if capture_requests else "")
            + "[hub.tls]\n"
            'ca_cert = "../ca/ca.crt"\n'
            f'cert = "{keys}tls.crt"\n'
            f'key = "{keys}tls.key"\n'
        )
        return path

    def connect_hub_to_pseudonym(self, port: int, *, rekey_interval_s: float = 30.0) -> None:
        """Tell the hubs where the pseudonymisation service is (for re-key factors only)."""
        for folder in self.hub_dirs():
            path = folder / "hub.toml"
            path.write_text(
                path.read_text()
                + f'[hub.pseudonym]\ntarget = "127.0.0.1:{port}"\nserver_name = "pseudonym"\n'
                + f"rekey_interval_s = {rekey_interval_s}\n"
            )

    def add_hub_setting(self, line: str) -> None:
        """Add one `key = value` line to the [hub] table of every hub."""
        for folder in self.hub_dirs():
            path = folder / "hub.toml"
            path.write_text(path.read_text().replace("[hub.tls]", f"{line}\n[hub.tls]", 1))

    # --- consent (issue 5): the registry with its portal, and the development login provider ---

    @property
    def consent_dir(self) -> Path:
        return self.root / "consent"

    @property
    def oidc_dir(self) -> Path:
        return self.root / "dev-oidc"

    def create_consent(self, *, sweep_interval_s: float = 1.0) -> None:
        """Keys and the provider's config for the consent service and its portal, and the
        hubs' `[hub.consent]`: the registry's receipt verify key, and the consent service's
        certificate name for the ResidentService. Call after create()."""
        from consent import receipts
        from consent.portal.devsetup import PORTAL_CN, DevSetup
        from seinhuis.crypto.pki import DevCA

        setup = DevSetup(self.root)
        setup.consent_dir.mkdir(parents=True, exist_ok=True)
        setup.oidc_dir.mkdir(parents=True, exist_ok=True)
        setup.create_keys(DevCA.load(self.root / "ca"))
        setup.write_oidc_config("127.0.0.1:0")
        # The portal pseudonymises the resident who logged in: the one non-partner evaluator.
        path = self.pseudonym_dir / "pseudonym.toml"
        path.write_text(
            path.read_text().replace(
                "[pseudonym.tls]", f"portal_ids = [{_toml_str(PORTAL_CN)}]\n[pseudonym.tls]", 1
            )
        )
        verify = self.hub_dir / "consent-receipt.pub"
        verify.write_bytes((setup.consent_dir / "keys" / receipts.VERIFY_KEY_FILE).read_bytes())
        for folder in self.hub_dirs():
            path = folder / "hub.toml"
            path.write_text(
                path.read_text()
                + "[hub.consent]\n"
                + f"receipt_keys = [{_toml_str(os.path.relpath(verify, folder))}]\n"
                + 'client_ids = ["consent"]\n'
                + f"sweep_interval_s = {sweep_interval_s}\n"
            )

    def write_consent_config(self, *, pseudonym_port: int, hub_port: int, issuer: str) -> Path:
        """consent.toml: the registry on a free port, the portal on another, the hub connected."""
        from consent.portal.devsetup import DevSetup

        return DevSetup(self.root).write_consent_config(
            issuer=issuer,
            pseudonym_target=f"127.0.0.1:{pseudonym_port}",
            portal_listen="127.0.0.1:0",
            hub_target=f"127.0.0.1:{hub_port}",
            notice_poll_s=0.5,
        )

    def connect_hub_to_consent(self, port: int | None = None) -> None:
        """Tell the hubs where the registry is, to follow its Watch stream: on `port`, or
        (None) on the port it writes to consent/consent.port, so the hubs may start first."""
        for folder in self.hub_dirs():
            path = folder / "hub.toml"
            where = (
                f'target = "127.0.0.1:{port}"'
                if port is not None
                else "target_port_file = "
                + _toml_str(os.path.relpath(self.consent_dir / "consent.port", folder))
            )
            path.write_text(
                path.read_text().replace(
                    "[hub.consent]\n", f'[hub.consent]\n{where}\nserver_name = "consent"\n', 1
                )
            )

    # --- the staff dashboard (issue 6): [hub.dashboard] and a login provider of its own ---

    @property
    def dashboard_dir(self) -> Path:
        """The dashboard's certificate and secrets, and its development login provider."""
        return self.root / "dashboard"

    @property
    def dashboard_oidc_config(self) -> Path:
        """Start it with `consent dev-oidc`; its port lands in dev-oidc.port beside it."""
        from hub.dashboard.devsetup import DashboardDevSetup

        return DashboardDevSetup(self.dashboard_dir).oidc_config

    def create_dashboard(self) -> None:
        """Keys, secrets and the login provider's config for the dashboard; its staff are the
        hub's (hub/staff.yaml). Call after create(); once the provider runs, call
        write_dashboard_config with its address."""
        from hub import staff
        from hub.dashboard.devsetup import DashboardDevSetup
        from seinhuis.crypto.pki import DevCA

        members = staff.load(self.hub_dir / "staff.yaml").members.values()
        DashboardDevSetup(self.dashboard_dir).create(DevCA.load(self.root / "ca"), members)

    def write_dashboard_config(self, issuer: str) -> Path:
        """The first hub's [hub.dashboard] with this login provider; returns its hub.toml,
        for `seinhuis hub dashboard --config` (Launcher role "hub dashboard")."""
        from hub.dashboard.devsetup import ISSUER_NOTE, DashboardDevSetup

        path = self.hub_dir / "hub.toml"
        text = path.read_text()
        if "[hub.dashboard]" in text:
            line = re.compile(rf'(?m)^issuer = ".*"  {re.escape(ISSUER_NOTE)}$')
            text = line.sub(f"issuer = {_toml_str(issuer)}  {ISSUER_NOTE}", text)
        else:
            setup = DashboardDevSetup(self.dashboard_dir)
            text += setup.hub_section(
                hub_dir=self.hub_dir, issuer=issuer, ca_cert=self.root / "ca" / "ca.crt"
            )
        path.write_text(text)
        return path

    def read_port(self, path: Path, timeout: float = 30.0) -> int:
        """A port a running service wrote to `path` (the portal's, say), once it is there."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = path.read_text().strip() if path.exists() else ""
            if text.isdigit():
                return int(text)
            time.sleep(0.05)
        raise Unavailable(f"{path} held no port within {timeout:.0f} s")

    def write_pseudonym_config(self, *, capture_requests: bool = False) -> Path:
        path = self.pseudonym_dir / "pseudonym.toml"
        path.write_text(
            "[pseudonym]\n"
            'listen = "127.0.0.1:0"\n'
            'port_file = "pseudonym.port"\n'
            'keyring = "keyring"\n'
            'audit_database = "audit.db"\n'
            'hub_ids = ["hub"]\n'
            # Its own copy of the partner registry (seinhuis keys keeps it): who may evaluate.
            'partners = "partners.yaml"\n'
            + METRICS_SETTINGS
            + ('capture_requests_file = "received.bin"\n' if capture_requests else "")
            + "[pseudonym.tls]\n"
            'ca_cert = "../ca/ca.crt"\n'
            'cert = "tls.crt"\n'
            'key = "tls.key"\n'
        )
        return path

    def write_node_config(
        self,
        partner: PartnerSpec,
        *,
        hub_port: int | Sequence[int],
        pseudonym_port: int,
        batch_size: int = 500,
        consent_port: int | None = None,
    ) -> Path:
        """hub_port: one hub, or several hub processes the node spreads its calls over."""
        ports = [hub_port] if isinstance(hub_port, int) else list(hub_port)
        hub_target = (
            f'"127.0.0.1:{ports[0]}"'
            if len(ports) == 1
            else "[" + ", ".join(f'"127.0.0.1:{p}"' for p in ports) + "]"
        )
        path = self.node_dir(partner.id) / "node.toml"
        path.write_text(
            "[node]\n"
            f"partner_id = {_toml_str(partner.id)}\n"
            f"partner_type = {_toml_str(partner.type.value)}\n"
            'listen = "127.0.0.1:0"\n'
            'port_file = "node.port"\n'
            'database = "node.db"\n'
            'signing_key = "signing.key"\n'
            'cache_key = "cache.key"\n' + METRICS_SETTINGS + "[node.hub]\n"
            f"target = {hub_target}\n"
            'server_name = "hub"\n'
            'sealing_public = "hub-sealing.pub"\n'
            "[node.pseudonym]\n"
            f'target = "127.0.0.1:{pseudonym_port}"\n'
            'server_name = "pseudonym"\n'
            "[node.tls]\n"
            'ca_cert = "../../ca/ca.crt"\n'
            'cert = "tls.crt"\n'
            'key = "tls.key"\n'
            "[node.delivery]\n"
            f"batch_size = {batch_size}\n"
            "backoff_initial_s = 0.05\n"
            "backoff_max_s = 2.0\n"
            + (
                f'[node.consent]\ntarget = "127.0.0.1:{consent_port}"\nserver_name = "consent"\n'
                if consent_port is not None
                else ""
            )
        )
        return path


@dataclass
class Running:
    """One service process started by the launcher."""

    name: str
    role: str
    config: Path
    port_file: Path
    log_path: Path
    process: subprocess.Popen[bytes]
    port: int = 0

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def metrics_url(self) -> str:
        """Where this service serves Prometheus metrics (its config sets metrics_listen)."""
        port = int((self.config.parent / "metrics.port").read_text())
        return f"http://127.0.0.1:{port}/metrics"

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL: no chance to clean up, as in a crash."""
        if self.alive():
            self.process.kill()
        self.process.wait(timeout=10)

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM, then wait for a graceful stop."""
        if self.alive():
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


@dataclass
class Launcher:
    """Starts service processes from their configs and waits until each has bound its port."""

    layout: Layout
    running: list[Running] = field(default_factory=list)
    python: str = sys.executable

    def start(self, name: str, role: str, config: Path, *, timeout: float = 30.0) -> Running:
        """role: the command before `serve` ("hub", "node", "consent dev-oidc", ...)."""
        port_file = config.parent / f"{role.split()[-1]}.port"
        port_file.unlink(missing_ok=True)
        self.layout.log_dir.mkdir(parents=True, exist_ok=True)
        log_path = self.layout.log_dir / f"{name}.log"
        log = log_path.open("ab")
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        proc = subprocess.Popen(
            [self.python, "-m", "seinhuis.cli", *role.split(), "serve", "--config", str(config)],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
        )
        log.close()
        run = Running(name, role, config, port_file, log_path, proc)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not run.alive():
                tail = log_path.read_text(errors="replace")[-2000:]
                raise Unavailable(f"{name} exited at start (code {proc.returncode}):\n{tail}")
            text = port_file.read_text().strip() if port_file.exists() else ""
            if text.isdigit():
                run.port = int(text)
                self.running.append(run)
                return run
            time.sleep(0.05)
        run.kill()
        raise Unavailable(f"{name} did not report a port within {timeout:.0f} s")

    def restart(self, run: Running, *, timeout: float = 30.0) -> Running:
        """Start a stopped or killed service again with the same config."""
        if run in self.running:
            self.running.remove(run)
        run.stop()
        if run.port:
            # Peers were configured with this port: come back on it rather than on a new one.
            text = run.config.read_text()
            # Only the service's own listen line, the first: metrics_listen and a consent
            # service's portal (its own listen line, later) stay on free ports.
            run.config.write_text(
                re.sub(
                    r'(?m)^listen = "127\.0\.0\.1:0"$',
                    f'listen = "127.0.0.1:{run.port}"',
                    text,
                    count=1,
                )
            )
        return self.start(run.name, run.role, run.config, timeout=timeout)

    def stop_all(self) -> None:
        for run in reversed(self.running):
            run.stop()
        self.running.clear()
