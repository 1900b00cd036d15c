"""SubmitStream over a real server: a result per envelope, only good ones stored, bounded."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator

import grpc
import pytest

from seinhuis.crypto.keys import key_id
from seinhuis.v1 import envelope_pb2, intake_pb2, vocabulary_pb2
from tests.hub.builders import ggd_signal_pb, new_id, seal
from tests.hub.conftest import Hub

OK, INVALID_ARGUMENT, ALREADY_EXISTS, PERMISSION_DENIED, UNAUTHENTICATED = 0, 3, 6, 7, 16


def stream(
    envelopes: list[envelope_pb2.SealedEnvelope],
) -> Iterator[intake_pb2.SubmitStreamRequest]:
    for envelope in envelopes:
        yield intake_pb2.SubmitStreamRequest(envelope=envelope)


def test_a_mixed_stream_gets_one_result_per_envelope_and_stores_only_the_good(hub: Hub) -> None:
    """Refused envelopes get their code in place and do not disturb the good ones around them."""
    keys, sealing = hub.keys("ggd-a"), hub.sealing_key
    bad_enum = ggd_signal_pb()
    bad_enum.signal_type = vocabulary_pb2.SignalType.ValueType(99)
    first_id = new_id()
    first = seal(keys, sealing, ggd_signal_pb(), message_id=first_id)
    envelopes = [
        first,
        envelope_pb2.SealedEnvelope(
            hub_key_id=key_id(bytes(sealing.public_key)), sealed=os.urandom(200)
        ),
        seal(keys, sealing, ggd_signal_pb()),
        seal(keys, sealing, bad_enum),
        first,
        seal(hub.keys("woco-a"), sealing, ggd_signal_pb()),
        seal(keys, sealing, ggd_signal_pb()),
    ]
    response = hub.intake("ggd-a").SubmitStream(stream(envelopes))
    assert [r.index for r in response.results] == list(range(len(envelopes)))
    assert [r.code for r in response.results] == [
        OK,
        UNAUTHENTICATED,
        OK,
        INVALID_ARGUMENT,
        ALREADY_EXISTS,
        UNAUTHENTICATED,
        OK,
    ]
    assert response.results[0].id == first_id
    assert response.results[1].id == b""
    assert response.results[3].message.startswith("signal.signal_type:")
    good = {r.id for r in response.results if r.code == OK}
    assert {s.received.id for s in hub.store.list_signals()} == good


def test_a_stream_longer_than_a_chunk_is_stored_completely_and_in_order(hub: Hub) -> None:
    """1,200 envelopes (three storage chunks) all come back OK, in order, and are all stored."""
    keys, sealing = hub.keys("ggd-a"), hub.sealing_key
    envelopes = [seal(keys, sealing, ggd_signal_pb()) for _ in range(1200)]
    started = time.perf_counter()
    response = hub.intake("ggd-a").SubmitStream(stream(envelopes))
    elapsed = time.perf_counter() - started
    assert [r.code for r in response.results] == [OK] * len(envelopes)
    assert [r.index for r in response.results] == list(range(len(envelopes)))
    assert len(hub.store.list_signals()) == len(envelopes)
    # Not a benchmark, only a tripwire for an accidental per-row transaction.
    assert elapsed < 10


def test_a_stream_over_the_maximum_is_resource_exhausted(start_hub: Callable[..., Hub]) -> None:
    """A stream with more than max_envelopes_per_stream envelopes is refused RESOURCE_EXHAUSTED."""
    hub = start_hub(max_envelopes_per_stream=3)
    keys, sealing = hub.keys("ggd-a"), hub.sealing_key
    with pytest.raises(grpc.RpcError) as info:
        hub.intake("ggd-a").SubmitStream(
            stream([seal(keys, sealing, ggd_signal_pb()) for _ in range(4)])
        )
    assert info.value.code() is grpc.StatusCode.RESOURCE_EXHAUSTED


def test_over_the_rate_within_a_stream_refuses_only_the_excess(
    start_hub: Callable[..., Hub],
) -> None:
    """Envelopes past the burst get RESOURCE_EXHAUSTED results; the earlier ones are stored."""
    hub = start_hub(rate_per_partner=0.001, rate_burst=3)
    keys, sealing = hub.keys("ggd-a"), hub.sealing_key
    response = hub.intake("ggd-a").SubmitStream(
        stream([seal(keys, sealing, ggd_signal_pb()) for _ in range(5)])
    )
    assert [r.code for r in response.results] == [OK, OK, OK, 8, 8]
    assert len(hub.store.list_signals()) == 3


def test_an_unregistered_peer_cannot_stream(hub: Hub) -> None:
    """SubmitStream from an unknown certificate is UNAUTHENTICATED as a whole."""
    with pytest.raises(grpc.RpcError) as info:
        hub.intake("stranger").SubmitStream(
            stream([seal(hub.keys("stranger"), hub.sealing_key, ggd_signal_pb())])
        )
    assert info.value.code() is grpc.StatusCode.UNAUTHENTICATED
    assert hub.store.list_signals() == []


def test_population_events_from_a_non_brp_partner_are_refused_in_stream(hub: Hub) -> None:
    """PERMISSION_DENIED shows up as a per-envelope result too."""
    from tests.hub.builders import residence_pb

    response = hub.intake("ggd-a").SubmitStream(
        stream([seal(hub.keys("ggd-a"), hub.sealing_key, residence_pb())])
    )
    assert [r.code for r in response.results] == [PERMISSION_DENIED]
