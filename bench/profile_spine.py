"""Where a spine signal's CPU goes, at the node and at the hub (not part of `make bench`).

    python -m bench.profile_spine [--signals 10000] [--top 25]

Runs the real code single-threaded in this process, without gRPC transport: the node's
Sender.send_batch against a hub stub that answers OK (so only the node's work counts), then the
hub's IntakeServicer.SubmitStream on those envelopes (SQLite in a temp dir, the Layout's
hub.toml). Each side runs twice: once plain for its CPU microseconds per signal, once under
cProfile with a CPU-time clock (so load from other processes does not skew the split) for the
share of each stage. cProfile's own overhead inflates Python-heavy stages a little; the
plain figures are the ones to compare with the spine section's CPU-per-signal figures.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import io
import logging
import pstats
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from nacl.public import PrivateKey, SealedBox
from nacl.signing import SigningKey

from bench import net, spine
from hub import config as hub_config
from hub import registry as hub_registry
from hub.intake import Intake
from hub.servicer import IntakeServicer
from hub.store import open_store
from node.delivery import Sender
from node.outbox import Outbox
from seinhuis import catalogue as catalogue_module
from seinhuis import logs
from seinhuis.crypto import keys
from seinhuis.crypto.envelope import Opener, Sealer
from seinhuis.ratelimit import RateLimiter
from seinhuis.v1 import envelope_pb2, intake_pb2

#: (label, function as pstats names it: (file suffix, function name)), per side.
NODE_STAGES = [
    ("Sender.send_batch (all)", ("node/delivery.py", "send_batch")),
    ("  Sealer.seal (sign + seal)", ("seinhuis/crypto/envelope.py", "seal")),
    (
        "    crypto_box_seal (X25519 sealed box, C)",
        ("~", "<built-in method _sodium.crypto_box_seal>"),
    ),
    ("    crypto_sign (Ed25519, C)", ("~", "<built-in method _sodium.crypto_sign>")),
    ("    key_id (recomputed per seal)", ("seinhuis/crypto/keys.py", "key_id")),
    ("  serde.statement (incl. FromDatetime)", ("node/serde.py", "statement")),
    ("  Outbox.record_results", ("node/outbox.py", "record_results")),
]
HUB_STAGES = [
    ("IntakeServicer.SubmitStream (all)", ("hub/servicer.py", "SubmitStream")),
    ("  _admit (rate limit, size)", ("hub/servicer.py", "_admit")),
    ("  Opener.open (sealed box, parse)", ("seinhuis/crypto/envelope.py", "open")),
    ("    crypto_box_seal_open (C)", ("~", "<built-in method _sodium.crypto_box_seal_open>")),
    ("  Intake._authenticate (header, key, signature)", ("hub/intake.py", "_authenticate")),
    ("    crypto_sign_open (Ed25519, C)", ("~", "<built-in method _sodium.crypto_sign_open>")),
    ("  Intake._accept (payload parse + checks)", ("hub/intake.py", "_accept")),
    ("    serde.payload_from_proto", ("hub/serde.py", "payload_from_proto")),
    ("  _store_chunk (SQLite, one txn per 500)", ("hub/servicer.py", "_store_chunk")),
    (
        "    SQLAlchemy _init_compiled (bind params)",
        ("sqlalchemy/engine/default.py", "_init_compiled"),
    ),
    ("    sqlite3 executemany (C)", ("~", "<method 'executemany' of 'sqlite3.Cursor' objects>")),
    ("    sqlite3 commit (fsync, C)", ("~", "<method 'commit' of 'sqlite3.Connection' objects>")),
]


class _Peer:
    """The servicer context as far as IntakeServicer uses it: the client certificate's CN."""

    def __init__(self, cn: str) -> None:
        self._cn = cn.encode()

    def auth_context(self) -> dict[str, list[bytes]]:
        return {"x509_common_name": [self._cn]}


class _OkHub:
    """A HubClient stand-in: OK for every envelope, keeping them for the hub's turn."""

    def __init__(self) -> None:
        self.envelopes: list[envelope_pb2.SealedEnvelope] = []

    def submit_stream(self, envelopes: Iterable[envelope_pb2.SealedEnvelope]) -> list[Any]:
        # The Sender seals lazily, as the stream is read: reading it here does the sealing.
        sent = list(envelopes)
        self.envelopes += sent
        return [intake_pb2.EnvelopeResult(index=i, code=0) for i in range(len(sent))]

    def cancel(self) -> None:
        pass


def _cumulative(stats: pstats.Stats, where: tuple[str, str]) -> float:
    suffix, name = where
    total = 0.0
    for (file, _line, function), row in stats.stats.items():  # type: ignore[attr-defined]
        if function == name and (file == suffix or file.endswith(suffix)):
            total += row[3]
    return total


def _profile(work: Callable[[], None]) -> pstats.Stats:
    profiler = cProfile.Profile(time.process_time)
    profiler.enable()
    work()
    profiler.disable()
    return pstats.Stats(profiler)


def _table(title: str, plain_us: float, stats: pstats.Stats, stages: list[Any], n: int) -> str:
    out = [f"{title}: {plain_us:,.0f} us CPU per signal (plain run, no profiler)"]
    whole = _cumulative(stats, stages[0][1]) or 1.0
    for label, where in stages:
        seconds = _cumulative(stats, where)
        share = seconds / whole
        out.append(f"  {label:<52} {share:6.1%}  ~{share * plain_us:6.0f} us/signal")
    return "\n".join(out)


def _primitives(n: int) -> str:
    """The libsodium calls alone, timed in plain loops: the crypto no side can skip."""
    signing, box = SigningKey.generate(), PrivateKey.generate()
    body = bytes(200)  # about a serialized signal statement
    signed = signing.sign(body)
    sealed = SealedBox(box.public_key).encrypt(body + bytes(64))
    opener = SealedBox(box)
    calls: list[tuple[str, Callable[[], object]]] = [
        ("Ed25519 sign (node)", lambda: signing.sign(body)),
        ("sealed box seal (node)", lambda: SealedBox(box.public_key).encrypt(body + bytes(64))),
        ("sealed box open (hub)", lambda: opener.decrypt(sealed)),
        ("Ed25519 verify (hub)", lambda: signing.verify_key.verify(signed)),
    ]
    out = ["libsodium primitives via PyNaCl, plain loops (CPU us per call):"]
    for label, call in calls:
        start = time.process_time()
        for _ in range(n):
            call()
        out.append(f"  {label:<52} {(time.process_time() - start) / n * 1e6:6.0f} us")
    return "\n".join(out)


def run(signals: int, top: int) -> str:
    logs.configure("bench", level=logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="seinhuis-profile-spine-") as tmp:
        layout = net.create_network(Path(tmp) / "net", [spine.REAL])
        folder = layout.node_dir(spine.REAL.id)
        sealer = Sealer(
            partner_id=spine.REAL.id,
            signing_key=keys.load_signing_key(folder / "signing.key"),
            hub_id="hub",
            hub_public=keys.load_sealing_public(folder / "hub-sealing.pub"),
        )

        def node_side(database: Path, hub: _OkHub) -> Callable[[], None]:
            outbox = Outbox(database)
            outbox.accept_many(spine._payloads(signals))
            sender = Sender(outbox, hub, sealer, batch_size=500)  # type: ignore[arg-type]

            def work() -> None:
                while batch := outbox.claim(500):
                    sender.send_batch(batch)

            return work

        plain_hub, profiled_hub = _OkHub(), _OkHub()
        work = node_side(Path(tmp) / "plain.db", plain_hub)
        start = time.process_time()
        work()
        node_us = (time.process_time() - start) / signals * 1e6
        node_stats = _profile(node_side(Path(tmp) / "profiled.db", profiled_hub))

        config = hub_config.load(layout.hub_dir / "hub.toml")

        def hub_side(envelopes: list[envelope_pb2.SealedEnvelope], url: str) -> Callable[[], None]:
            registry = hub_registry.load(config.registry)
            store = open_store(url)
            servicer = IntakeServicer(
                intake=Intake(
                    hub_id=config.id,
                    registry=registry,
                    catalogue=catalogue_module.load(),
                    opener=Opener([keys.load_sealing_key(p) for p in config.sealing_keys]),
                    max_clock_skew=dt.timedelta(seconds=config.max_clock_skew_s),
                    clock=lambda: dt.datetime.now(dt.UTC),
                ),
                registry=registry,
                store=store,
                limiter=RateLimiter(config.rate_per_partner, config.rate_burst),
                max_envelopes_per_stream=config.max_envelopes_per_stream,
                clock=lambda: dt.datetime.now(dt.UTC),
            )
            requests = [intake_pb2.SubmitStreamRequest(envelope=e) for e in envelopes]
            peer = _Peer(spine.REAL.id)

            def work() -> None:
                for i in range(0, len(requests), 500):
                    answer = servicer.SubmitStream(iter(requests[i : i + 500]), peer)  # type: ignore[arg-type]
                    if any(r.code for r in answer.results):
                        raise RuntimeError(f"hub refused: {answer.results[0]}")
                store.close()

            return work

        work = hub_side(plain_hub.envelopes, f"sqlite:///{tmp}/hub-plain.db")
        start = time.process_time()
        work()
        hub_us = (time.process_time() - start) / signals * 1e6
        hub_stats = _profile(hub_side(profiled_hub.envelopes, f"sqlite:///{tmp}/hub-prof.db"))

    report = [
        _primitives(signals),
        "",
        _table("node (Sender.send_batch, hub stubbed)", node_us, node_stats, NODE_STAGES, signals),
        "",
        _table(
            "hub (IntakeServicer.SubmitStream, no transport)",
            hub_us,
            hub_stats,
            HUB_STAGES,
            signals,
        ),
    ]
    if top:
        for title, stats in (("node", node_stats), ("hub", hub_stats)):
            text = io.StringIO()
            stats.stream = text  # type: ignore[attr-defined]
            stats.sort_stats("tottime").print_stats(top)
            report += ["", f"--- {title}: top {top} by own CPU time ---", text.getvalue()]
    return "\n".join(report)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.profile_spine", description=__doc__)
    parser.add_argument("--signals", type=int, default=10_000)
    parser.add_argument("--top", type=int, default=0, help="also list the top N functions")
    args = parser.parse_args()
    print(run(args.signals, args.top))


if __name__ == "__main__":
    main()
