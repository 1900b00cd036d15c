"""Shared plumbing for the process benchmarks: a keyed network in a temp dir, processes, polls.

Keys come from `seinhuis keys init` (run as a command, as an operator would); hub and
pseudonymisation configs from seinhuis.network.Layout; services start through its Launcher,
each as its own process on loopback port 0. Nothing here changes product code or configs
beyond writing the files a benchmark network needs.
"""

from __future__ import annotations

import os
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from seinhuis.keys_cli import PartnerSpec
from seinhuis.network import Launcher, Layout, Running

#: The repository root: `python -m bench.floor_hub` must import the bench package from here.
REPO = Path(__file__).resolve().parent.parent


def say(text: str) -> None:
    """Progress, on stderr: stdout carries only the table."""
    print(text, file=sys.stderr, flush=True)


def quiet(text: str) -> None:
    del text


def seinhuis_command(*args: str) -> list[str]:
    """The `seinhuis` command line, run with this interpreter (the venv's)."""
    return [sys.executable, "-m", "seinhuis.cli", *args]


def create_network(root: Path, partners: Sequence[PartnerSpec]) -> Layout:
    """Keys via `seinhuis keys init`, then the hub and pseudonymisation configs of a Layout."""
    command = ["keys", "init", str(root)]
    for p in partners:
        command += ["--partner", f"{p.id}:{p.type.value}"]
    subprocess.run(
        seinhuis_command(*command), check=True, capture_output=True, cwd=REPO, timeout=120
    )
    layout = Layout(root)
    layout.log_dir.mkdir(parents=True, exist_ok=True)
    layout.write_hub_config()
    layout.write_pseudonym_config()
    return layout


def write_node_config(
    path: Path,
    layout: Layout,
    partner: PartnerSpec,
    *,
    hub_port: int | Sequence[int],
    pseudonym_port: int,
    database: Path,
    batch_size: int = 500,
    idle_poll_s: float = 1.0,
) -> Path:
    """A node.toml in its own folder (so two nodes of one machine keep apart port files).

    The same settings as Layout.write_node_config, with absolute key paths, and the sender's
    idle poll exposed: a benchmark fills the outbox from another process, as the import does.
    hub_port: one hub, or several hub processes the node spreads its calls over (round robin).
    """
    keys = layout.node_dir(partner.id)
    ports = [hub_port] if isinstance(hub_port, int) else list(hub_port)
    targets = [f'"127.0.0.1:{p}"' for p in ports]
    hub_target = targets[0] if len(targets) == 1 else "[" + ", ".join(targets) + "]"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "[node]\n"
        f'partner_id = "{partner.id}"\n'
        f'partner_type = "{partner.type.value}"\n'
        'listen = "127.0.0.1:0"\n'
        'port_file = "node.port"\n'
        f'database = "{database}"\n'
        f'signing_key = "{keys / "signing.key"}"\n'
        f'cache_key = "{keys / "cache.key"}"\n'
        "[node.hub]\n"
        f"target = {hub_target}\n"
        'server_name = "hub"\n'
        f'sealing_public = "{keys / "hub-sealing.pub"}"\n'
        "[node.pseudonym]\n"
        f'target = "127.0.0.1:{pseudonym_port}"\n'
        'server_name = "pseudonym"\n'
        "[node.tls]\n"
        f'ca_cert = "{layout.root / "ca" / "ca.crt"}"\n'
        f'cert = "{keys / "tls.crt"}"\n'
        f'key = "{keys / "tls.key"}"\n'
        "[node.delivery]\n"
        f"batch_size = {batch_size}\n"
        "backoff_initial_s = 0.05\n"
        "backoff_max_s = 2.0\n"
        f"idle_poll_s = {idle_poll_s}\n"
    )
    return path


@dataclass
class Floor:
    """The floor hub process (bench.floor_hub)."""

    process: subprocess.Popen[bytes]
    port: int
    log_path: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def start_floor_hub(
    layout: Layout, partner_id: str, *, timeout: float = 30.0, name: str = "floor"
) -> Floor:
    """`python -m bench.floor_hub` with the hub's TLS and sealing keys, in its own process;
    `name` keeps the port files and logs of several floor hubs apart."""
    port_file = layout.root / name / "floor.port"
    port_file.parent.mkdir(parents=True, exist_ok=True)
    port_file.unlink(missing_ok=True)
    log_path = layout.log_dir / f"{name}-hub.log"
    env = dict(os.environ, PYTHONUNBUFFERED="1", PYTHONPATH=str(REPO))
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bench.floor_hub",
                "--config",
                str(layout.hub_dir / "hub.toml"),
                "--partner",
                partner_id,
                "--port-file",
                str(port_file),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            cwd=REPO,
            start_new_session=True,
        )
    floor = Floor(process, 0, log_path)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"floor hub exited: {log_path.read_text()[-2000:]}")
        text = port_file.read_text().strip() if port_file.exists() else ""
        if text.isdigit():
            floor.port = int(text)
            return floor
        time.sleep(0.05)
    floor.stop()
    raise RuntimeError("floor hub did not report a port")


def start(launcher: Launcher, name: str, role: str, config: Path) -> Running:
    return launcher.start(name, role, config, timeout=60.0)


def scalar(database: Path, query: str, params: Sequence[object] = ()) -> int:
    """One integer from a SQLite file opened read-only (WAL lets it read beside the writer)."""
    with closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=30)) as conn:
        (value,) = conn.execute(query, tuple(params)).fetchone()
    return int(value or 0)


def wait_until(done: Callable[[], bool], *, timeout: float, interval: float = 0.05) -> bool:
    """Poll until done() or timeout; whether it got done."""
    deadline = time.monotonic() + timeout
    while True:
        if done():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


def percentile(samples: Sequence[float], p: int) -> float:
    """The p-th percentile (1..99), interpolated."""
    if len(samples) == 1:
        return samples[0]
    return statistics.quantiles(samples, n=100, method="inclusive")[p - 1]


_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process and its live children (the hub's judge process)
    have used so far (Linux /proc), 0.0 elsewhere.

    CPU time per signal is what another process's load on a shared machine barely moves, so
    it says where the time goes even when wall-clock rates are noisy.
    """
    total = 0.0
    for one in (pid, *_children(pid)):
        try:
            fields = Path(f"/proc/{one}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # After "pid (comm)": state is field 3, utime field 14, stime field 15 (1-based).
        total += (int(fields[11]) + int(fields[12])) / _TICKS
    return total


def _children(pid: int) -> list[int]:
    try:
        found = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return []
    return [int(c) for c in found]


def cpu_times() -> tuple[int, int]:
    """(stolen, total) CPU ticks of the whole machine since boot, from /proc/stat ((0, 0)
    where unknown). Stolen: time the hypervisor gave this virtual machine's CPUs to others."""
    try:
        with open("/proc/stat") as f:
            fields = [int(x) for x in f.readline().split()[1:9]]
    except (OSError, ValueError):
        return 0, 0
    return (fields[7] if len(fields) > 7 else 0), sum(fields)


def stolen_share(before: tuple[int, int], after: tuple[int, int]) -> float:
    """The percentage of CPU time stolen between two cpu_times() readings."""
    total = after[1] - before[1]
    return 100.0 * (after[0] - before[0]) / total if total > 0 else 0.0


def load_average() -> float:
    """The one-minute load average (0.0 where unknown)."""
    try:
        return os.getloadavg()[0]
    except OSError:
        return 0.0
