"""Known-answer tests: every RFC 9497 ristretto255-SHA512 mode-0 (OPRF) vector."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from seinhuis.crypto import oprf

VECTORS = Path(__file__).parent.parent / "data" / "rfc9497-ristretto255-sha512.json"


def _suites() -> list[dict[str, Any]]:
    suites: list[dict[str, Any]] = json.loads(VECTORS.read_text())
    return [s for s in suites if s["mode"] == oprf.MODE_OPRF]


@dataclass(frozen=True)
class Vector:
    """One test vector; a batch holds comma-separated values, one per input."""

    suite: dict[str, Any]
    inputs: list[bytes]
    blinds: list[bytes]
    blinded: list[bytes]
    evaluated: list[bytes]
    outputs: list[bytes]


def _split(value: str) -> list[bytes]:
    return [bytes.fromhex(part) for part in value.split(",")]


def _vectors() -> list[Any]:
    params = []
    for suite in _suites():
        for n, v in enumerate(suite["vectors"]):
            vector = Vector(
                suite,
                _split(v["Input"]),
                _split(v["Blind"]),
                _split(v["BlindedElement"]),
                _split(v["EvaluationElement"]),
                _split(v["Output"]),
            )
            assert all(len(x) == v["Batch"] for x in (vector.inputs, vector.outputs))
            params.append(pytest.param(vector, id=f"mode0-vector{n}-batch{v['Batch']}"))
    return params


def _key(suite: dict[str, Any]) -> oprf.OprfKey:
    return oprf.derive_key_pair(bytes.fromhex(suite["seed"]), bytes.fromhex(suite["keyInfo"]))


def test_the_file_holds_mode_0_vectors_for_this_suite() -> None:
    """The vector file has a mode-0 suite for ristretto255-SHA512 with our HashToGroup DST."""
    suites = _suites()
    assert suites and all(s["identifier"] == oprf.IDENTIFIER.decode() for s in suites)
    assert all(bytes.fromhex(s["groupDST"]) == oprf.HASH_TO_GROUP_DST for s in suites)
    assert sum(len(s["vectors"]) for s in suites) >= 2


@pytest.mark.parametrize("suite", _suites(), ids=lambda s: f"mode{s['mode']}")
def test_derive_key_pair_gives_the_vector_key(suite: dict[str, Any]) -> None:
    """DeriveKeyPair(seed, keyInfo) yields exactly skSm."""
    assert _key(suite).private.hex() == suite["skSm"]


@pytest.mark.parametrize("vector", _vectors())
def test_single_operations_match_the_vector(vector: Vector) -> None:
    """Blind, BlindEvaluate, Finalize and Evaluate reproduce each input's vector values."""
    key = _key(vector.suite)
    for data, r, blinded, evaluated, output in zip(
        vector.inputs, vector.blinds, vector.blinded, vector.evaluated, vector.outputs, strict=True
    ):
        b = oprf.blind(data, r)
        assert b.element == blinded
        assert oprf.blind_evaluate(key, b.element) == evaluated
        assert oprf.finalize(data, r, evaluated) == output
        assert oprf.evaluate(key, data) == output


@pytest.mark.parametrize("vector", _vectors())
def test_batch_helpers_match_the_vector(vector: Vector) -> None:
    """blind_many, blind_evaluate_many and unblind_many reproduce the vector values."""
    key = _key(vector.suite)
    blinded = oprf.blind_many(vector.inputs, vector.blinds)
    assert [b.element for b in blinded] == vector.blinded
    assert oprf.blind_evaluate_many(key, vector.blinded) == vector.evaluated
    unblinded = oprf.unblind_many(vector.blinds, vector.evaluated)
    assert unblinded == [oprf.evaluate_element(key, x) for x in vector.inputs]
