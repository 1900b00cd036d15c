"""How close the pseudonymisation service gets to the raw scalar-multiplication rate.

The floor is crypto_scalarmult_ristretto255 over the same elements in this process: the work
an evaluation cannot avoid. The service figure is elements evaluated per second over mTLS, one
batch in flight (one server core working, as the floor uses one core), with pre-blinded
elements so the client's blinding does not count. Floor and service alternate round by round
and the ratio is the median of the rounds' ratios, so load from other processes hits both
sides alike instead of skewing one.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import pysodium

from pseudonym import keyring
from pseudonym.config import PseudonymConfig
from pseudonym.wiring import build
from seinhuis.crypto import oprf
from seinhuis.crypto.pki import DevCA
from seinhuis.transport import secure_channel
from seinhuis.v1 import pseudonym_pb2, pseudonym_pb2_grpc, vocabulary_pb2

BATCH = 2_000
MIN_ROUNDS = 3


def run(seconds: float) -> dict[str, Any]:
    """Alternate floor and service rounds for about `seconds`; return rates and their ratio."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        ca = DevCA.create(folder / "ca")
        config = PseudonymConfig(
            keyring=folder / "keyring",
            audit_database=folder / "audit.db",
            tls=ca.issue(folder / "server", "pseudonym", server=True),
            partners=folder / "partners.yaml",
            max_batch=BATCH,
            rate_per_partner=1e9,
            rate_burst=10**10,
        )
        keyring.create(config.keyring)
        config.partners.write_text("partners:\n- {id: bench, type: GGD, certificate_cn: bench}\n")
        service = build(config)
        port = service.start()
        channel = secure_channel(
            f"127.0.0.1:{port}", ca.issue(folder / "client", "bench"), server_name="pseudonym"
        )
        try:
            stub = pseudonym_pb2_grpc.PseudonymServiceStub(channel)
            elements = [oprf.hash_to_group(os.urandom(16)) for _ in range(BATCH)]
            request = pseudonym_pb2.EvaluateRequest(
                kind=vocabulary_pb2.IDENTIFIER_KIND_PERSON, blinded_elements=elements
            )
            stub.Evaluate(request)  # warm up: connection, handshake, first allocations
            k = pysodium.crypto_core_ristretto255_scalar_random()
            mult = pysodium.crypto_scalarmult_ristretto255
            floor_s: list[float] = []
            service_s: list[float] = []
            deadline = time.perf_counter() + seconds
            while time.perf_counter() < deadline or len(floor_s) < MIN_ROUNDS:
                start = time.perf_counter()
                for element in elements:
                    mult(k, element)
                floor_s.append(time.perf_counter() - start)
                start = time.perf_counter()
                evaluated = stub.Evaluate(request).evaluated_elements
                service_s.append(time.perf_counter() - start)
                assert len(evaluated) == BATCH
        finally:
            channel.close()
            service.stop(0)
    return {
        "name": "pseudonym evaluation over mTLS vs raw scalar multiplication",
        "batch": BATCH,
        "rounds": len(floor_s),
        "floor_scalarmult_per_s": round(BATCH / statistics.median(floor_s)),
        "service_evaluations_per_s": round(BATCH / statistics.median(service_s)),
        "ratio": round(
            statistics.median(f / s for f, s in zip(floor_s, service_s, strict=True)), 3
        ),
        "target_ratio": 0.8,
    }


if __name__ == "__main__":
    import json
    import sys

    print(json.dumps(run(float(sys.argv[1]) if len(sys.argv) > 1 else 5.0), indent=2))
