"""The spine's floor: an IntakeService that opens and verifies each envelope and answers OK.

It stands where the hub stands (same mutual TLS, the hub's certificate and sealing key, the
same server builder and error interceptor) and does only the work no hub can skip: open the
sealed box (seinhuis.crypto.envelope.Opener) and check the Ed25519 signature with the partner's
verify key. No registry lookups per envelope, no clock, payload or catalogue checks, no rate
limit, no storage, no logging. A node delivering to it measures the path minus the hub's own
work, in the same run as the real hub.

    python -m bench.floor_hub --config hub.toml --partner ggd-floor --port-file floor.port
"""

from __future__ import annotations

import argparse
import signal
import threading
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

import grpc
from nacl.signing import VerifyKey

from hub import config as hub_config
from hub import registry as hub_registry
from hub.servicer import stream_envelopes
from seinhuis import transport
from seinhuis.atomic import write_port_file
from seinhuis.crypto.envelope import Opener
from seinhuis.crypto.keys import load_sealing_key
from seinhuis.errors import SeinhuisError
from seinhuis.v1 import envelope_pb2, intake_pb2, intake_pb2_grpc

_UNAUTHENTICATED = grpc.StatusCode.UNAUTHENTICATED.value[0]


class FloorIntake(intake_pb2_grpc.IntakeServiceServicer):
    """Open, verify, answer OK: per envelope, nothing else."""

    def __init__(self, opener: Opener, verify_key: VerifyKey) -> None:
        self._opener = opener
        self._verify_key = verify_key

    def _open(self, envelope: envelope_pb2.SealedEnvelope) -> bytes:
        opened = self._opener.open(envelope)
        opened.verify(self._verify_key)
        return bytes(opened.statement.id)

    def Submit(
        self, request: intake_pb2.SubmitRequest, context: grpc.ServicerContext
    ) -> intake_pb2.SubmitResponse:
        return intake_pb2.SubmitResponse(id=self._open(request.envelope))

    def SubmitStream(
        self,
        request_iterator: Iterator[intake_pb2.SubmitStreamRequest],
        context: grpc.ServicerContext,
    ) -> intake_pb2.SubmitStreamResponse:
        results = []
        for index, envelope in enumerate(stream_envelopes(request_iterator)):
            try:
                results.append(intake_pb2.EnvelopeResult(index=index, id=self._open(envelope)))
            except SeinhuisError as exc:  # a floor that refuses shows up as refused messages
                results.append(
                    intake_pb2.EnvelopeResult(
                        index=index, code=_UNAUTHENTICATED, message=exc.message
                    )
                )
        return intake_pb2.SubmitStreamResponse(results=results)

    def Withdraw(
        self, request: intake_pb2.WithdrawRequest, context: grpc.ServicerContext
    ) -> intake_pb2.WithdrawResponse:
        context.abort(grpc.StatusCode.UNIMPLEMENTED, "the floor hub only takes envelopes")


def build(config: hub_config.HubConfig, partner_id: str) -> grpc.Server:
    registry = hub_registry.load(config.registry)
    partner = registry.partner(partner_id)
    if partner is None or not partner.keys:
        raise SystemExit(f"partner {partner_id!r} is not in {config.registry}")
    opener = Opener([load_sealing_key(path) for path in config.sealing_keys])
    server = transport.build_server(max_workers=32)
    intake_pb2_grpc.add_IntakeServiceServicer_to_server(
        FloorIntake(opener, partner.keys[0].verify_key), server
    )
    return server


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.floor_hub", description=__doc__)
    parser.add_argument("--config", type=Path, required=True, help="the hub's hub.toml")
    parser.add_argument("--partner", required=True, help="whose verify key checks signatures")
    parser.add_argument("--port-file", type=Path, required=True)
    parser.add_argument("--listen", default="127.0.0.1:0")
    args = parser.parse_args(argv)
    config = hub_config.load(args.config)
    server = build(config, args.partner)
    credentials = transport.server_credentials(config.tls, require_client_auth=True)
    port = server.add_secure_port(args.listen, credentials)
    if port == 0:
        raise SystemExit(f"cannot listen on {args.listen}")
    stopping = threading.Event()

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    server.start()
    write_port_file(args.port_file, port)
    stopping.wait()
    server.stop(1.0).wait()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
