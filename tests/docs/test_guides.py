"""The guides in docs/ run as written, so they cannot silently go stale.

Convention (stated at the top of each guide): a fenced ```sh block directly preceded by the
line `<!-- tested -->` is part of the guide's walk-through. This test takes those blocks in
order, joins them into one bash script (`set -euo pipefail`) and runs it in an empty temporary
folder against the real `seinhuis` command, as a new user following the guide would: services
the guide starts in the background keep running from one block to the next. Before running,
the fixed ports the guides use are swapped for free ones (PORTS), so the test never collides
with anything else on the machine. `SEINHUIS_HOME` points at this checkout and the virtual
env's bin folder comes first on PATH, as the guides' install section tells the reader to set.

Whatever the script leaves running is stopped at the end: bash runs in a session of its own
and the test signals that process group only.
"""

from __future__ import annotations

import os
import random
import re
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
GUIDES = ("operator-guide.md", "partner-onboarding.md")
MARK = "<!-- tested -->"
#: The fixed ports the guides use; each run replaces them with free ones.
PORTS = (50051, 50052, 50053, 50060, 50061, 50062, 9464, 9465, 9466, 9467)
#: A whole guide must finish well inside this (seconds); it takes far less on a quiet machine.
TIMEOUT_S = 240


@dataclass(frozen=True)
class Block:
    line: int  # the line of the opening fence, 1-based
    text: str


def marked_blocks(path: Path) -> list[Block]:
    """The ```sh blocks marked tested, in order; a marker not followed by one is an error."""
    lines = path.read_text().splitlines()
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        if lines[i].strip() != MARK:
            i += 1
            continue
        fence = i + 1
        if fence >= len(lines) or lines[fence].strip() != "```sh":
            raise AssertionError(f"{path.name}:{i + 1}: {MARK} must be followed by a ```sh fence")
        end = fence + 1
        while end < len(lines) and lines[end].strip() != "```":
            end += 1
        if end == len(lines):
            raise AssertionError(f"{path.name}:{fence + 1}: the ```sh block is never closed")
        blocks.append(Block(fence + 1, "\n".join(lines[fence + 1 : end])))
        i = end + 1
    return blocks


def free_ports(count: int) -> list[int]:
    """Ports nothing listens on now, below the kernel's ephemeral range (32768 and up), where
    the services and clients of other tests running at the same time take theirs."""
    chosen: list[int] = []
    for port in random.sample(range(20000, 32000), 200):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        chosen.append(port)
        if len(chosen) == count:
            return chosen
    raise AssertionError("no free ports between 20000 and 32000")


def swap_ports(text: str, mapping: dict[int, int]) -> str:
    pattern = re.compile(r"(?<!\d)(" + "|".join(str(p) for p in mapping) + r")(?!\d)")
    return pattern.sub(lambda m: str(mapping[int(m.group(1))]), text)


def script_for(guide: str, blocks: list[Block], mapping: dict[int, int]) -> str:
    parts = ["set -euo pipefail"]
    for n, block in enumerate(blocks, 1):
        # The marker lets a failure name the block it happened in.
        parts.append(f'echo ">>> block {n}: docs/{guide}:{block.line} (at ${{SECONDS}} s)"')
        parts.append(swap_ports(block.text, mapping))
    parts.append('echo ">>> all blocks ran (in ${SECONDS} s)"')
    return "\n".join(parts) + "\n"


def stop_group(pgid: int) -> None:
    """SIGTERM the script's process group, give it time to stop, then SIGKILL what is left."""
    for sig, grace in ((signal.SIGTERM, 15.0), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            try:
                os.killpg(pgid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.1)


@pytest.mark.parametrize("guide", GUIDES)
def test_guide_has_tested_blocks(guide: str) -> None:
    """Each guide states the convention and has a walk-through to run."""
    text = (DOCS / guide).read_text()
    assert MARK in text.split("\n## ", 1)[0], f"{guide}: explain {MARK} before the first section"
    assert len(marked_blocks(DOCS / guide)) >= 5


@dataclass
class Run:
    """One guide's script running in its own folder."""

    guide: str
    folder: Path
    process: subprocess.Popen[bytes]
    code: int | None = None

    @property
    def work(self) -> Path:
        return self.folder / "work"

    def output(self) -> str:
        return (self.folder / "output.txt").read_text(errors="replace")

    def report(self) -> str:
        text = self.output()
        logs = sorted(self.work.glob("**/logs/*.log"))
        tails = "".join(
            f"\n--- {log.relative_to(self.work)} (tail)\n{log.read_text(errors='replace')[-1500:]}"
            for log in logs
        )
        started = [line for line in text.splitlines() if line.startswith(">>> block")]
        where = started[-1] if started else "before the first block"
        what = "timed out" if self.code is None else f"exited with {self.code}"
        return f"{self.guide} {what} in {where}\n{text[-6000:]}{tails}"


def launch(guide: str, folder: Path) -> Run:
    """Start the guide's tested blocks as one bash script in `folder`/work."""
    mapping = dict(zip(PORTS, free_ports(len(PORTS)), strict=True))
    script = folder / "guide.sh"
    script.write_text(script_for(guide, marked_blocks(DOCS / guide), mapping))
    (folder / "work").mkdir()
    bin_dir = Path(sys.executable).parent
    env = dict(
        os.environ,
        PATH=f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        SEINHUIS_HOME=str(ROOT),
        PYTHONUNBUFFERED="1",
    )
    with (folder / "output.txt").open("wb") as out:
        process = subprocess.Popen(
            ["bash", str(script)],
            cwd=folder / "work",
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return Run(guide, folder, process)


def test_guides_run_as_written(tmp_path: Path) -> None:
    """Both guides at once (each mostly waits on one process at a time: two use both cores)."""
    runs = []
    for guide in GUIDES:
        folder = tmp_path / guide.removesuffix(".md")
        folder.mkdir()
        runs.append(launch(guide, folder))
    deadline = time.monotonic() + TIMEOUT_S
    try:
        for run in runs:
            try:
                run.code = run.process.wait(timeout=max(1.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                run.code = None
    finally:
        for run in runs:
            stop_group(run.process.pid)
    failed = [run.report() for run in runs if run.code != 0]
    if failed:
        pytest.fail("\n\n".join(failed), pytrace=False)
    for run in runs:
        assert ">>> all blocks ran" in run.output()
