"""A whole Seinhuis network on one machine: configs for every service and a process launcher.

Used by `seinhuis demo` and by the end-to-end tests. Every service runs as its own process,
listens on loopback port 0 and writes the port it got to a file the launcher reads back.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from seinhuis.errors import Unavailable
from seinhuis.keys_cli import PartnerSpec, init_network_keys


def _toml_str(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


@dataclass
class Layout:
    """Where a network's keys, configs, databases and logs live."""

    root: Path

    @property
    def hub_dir(self) -> Path:
        return self.root / "hub"

    @property
    def pseudonym_dir(self) -> Path:
        return self.root / "pseudonym"

    def node_dir(self, partner_id: str) -> Path:
        return self.root / "nodes" / partner_id

    @property
    def log_dir(self) -> Path:
        return self.root / "logs"

    def create(
        self,
        partners: list[PartnerSpec],
        *,
        database_url: str | None = None,
        capture_requests: bool = False,
    ) -> None:
        """Keys for everyone, and the hub's and pseudonymisation service's configs.

        capture_requests: the hub and the service append every request they receive to
        received.bin in their folder (for the privacy tests).
        """
        init_network_keys(self.root, partners)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.write_hub_config(database_url=database_url, capture_requests=capture_requests)
        self.write_pseudonym_config(capture_requests=capture_requests)

    def write_hub_config(
        self, *, database_url: str | None = None, capture_requests: bool = False
    ) -> Path:
        url = database_url or "sqlite:///hub.db"
        path = self.hub_dir / "hub.toml"
        path.write_text(
            "[hub]\n"
            'id = "hub"\n'
            'listen = "127.0.0.1:0"\n'
            'port_file = "hub.port"\n'
            f"database_url = {_toml_str(url)}\n"
            'registry = "partners.yaml"\n'
            'sealing_keys = ["sealing.key"]\n'
            + ('capture_requests_file = "received.bin"\n' if capture_requests else "")
            + "[hub.tls]\n"
            'ca_cert = "../ca/ca.crt"\n'
            'cert = "tls.crt"\n'
            'key = "tls.key"\n'
        )
        return path

    def connect_hub_to_pseudonym(self, port: int, *, rekey_interval_s: float = 30.0) -> None:
        """Tell the hub where the pseudonymisation service is (for re-key factors only)."""
        path = self.hub_dir / "hub.toml"
        path.write_text(
            path.read_text()
            + f'[hub.pseudonym]\ntarget = "127.0.0.1:{port}"\nserver_name = "pseudonym"\n'
            + f"rekey_interval_s = {rekey_interval_s}\n"
        )

    def add_hub_setting(self, line: str) -> None:
        """Add one `key = value` line to the [hub] table."""
        path = self.hub_dir / "hub.toml"
        path.write_text(path.read_text().replace("[hub.tls]", f"{line}\n[hub.tls]", 1))

    def write_pseudonym_config(self, *, capture_requests: bool = False) -> Path:
        path = self.pseudonym_dir / "pseudonym.toml"
        path.write_text(
            "[pseudonym]\n"
            'listen = "127.0.0.1:0"\n'
            'port_file = "pseudonym.port"\n'
            'keyring = "keyring"\n'
            'audit_database = "audit.db"\n'
            'hub_ids = ["hub"]\n'
            + ('capture_requests_file = "received.bin"\n' if capture_requests else "")
            + "[pseudonym.tls]\n"
            'ca_cert = "../ca/ca.crt"\n'
            'cert = "tls.crt"\n'
            'key = "tls.key"\n'
        )
        return path

    def write_node_config(
        self, partner: PartnerSpec, *, hub_port: int, pseudonym_port: int, batch_size: int = 500
    ) -> Path:
        path = self.node_dir(partner.id) / "node.toml"
        path.write_text(
            "[node]\n"
            f"partner_id = {_toml_str(partner.id)}\n"
            f"partner_type = {_toml_str(partner.type.value)}\n"
            'listen = "127.0.0.1:0"\n'
            'port_file = "node.port"\n'
            'database = "node.db"\n'
            'signing_key = "signing.key"\n'
            'cache_key = "cache.key"\n'
            "[node.hub]\n"
            f'target = "127.0.0.1:{hub_port}"\n'
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
        port_file = config.parent / f"{role}.port"
        port_file.unlink(missing_ok=True)
        self.layout.log_dir.mkdir(parents=True, exist_ok=True)
        log_path = self.layout.log_dir / f"{name}.log"
        log = log_path.open("ab")
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        proc = subprocess.Popen(
            [self.python, "-m", "seinhuis.cli", role, "serve", "--config", str(config)],
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
            run.config.write_text(
                text.replace('listen = "127.0.0.1:0"', f'listen = "127.0.0.1:{run.port}"')
            )
        return self.start(run.name, run.role, run.config, timeout=timeout)

    def stop_all(self) -> None:
        for run in reversed(self.running):
            run.stop()
        self.running.clear()
