"""Properties of the OPRF as Seinhuis uses it: pseudonyms, validation, re-keying."""

from __future__ import annotations

import os

import pysodium
import pytest

from seinhuis.crypto import oprf
from seinhuis.errors import InvalidArgument

P = 2**255 - 19


def _key(label: bytes, seed: bytes = b"\x07" * 32) -> oprf.OprfKey:
    return oprf.derive_key_pair(seed, label)


PERSON = _key(b"seinhuis/pseudonym/person/v1")
ADDRESS = _key(b"seinhuis/pseudonym/address/v1")


def _pseudonym(key: oprf.OprfKey, data: bytes) -> bytes:
    b = oprf.blind(data)
    return oprf.unblind(b.blind, oprf.blind_evaluate(key, b.element))


def _le(value: int) -> bytes:
    return value.to_bytes(32, "little")


def _valid_element() -> bytes:
    return oprf.hash_to_group(os.urandom(16))


# RFC 9496 appendix A.2 (bad encodings) and simple constructions of non-canonical forms.
INVALID_ENCODINGS = {
    "identity": bytes(32),
    "p (non-canonical zero)": _le(P),
    "p+1": _le(P + 1),
    "all ones": b"\xff" * 32,
    "high bit set": b"\x00" * 31 + b"\x80",
    "negative 1": _le(1),
    "negative p-2": _le(P - 2),
    "rfc9496 non-canonical": bytes.fromhex(
        "f3ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"
    ),
    "rfc9496 negative": bytes.fromhex(
        "ed57ffd8c914fb201471d1c3d245ce3c746fcbe63a3679d51b6a516ebebe0e20"
    ),
    "rfc9496 non-square": bytes.fromhex(
        "26948d35ca62e643e26a83177332e6b6afeb9d08e4268b650f1f5bbd8d81d371"
    ),
    "short": b"\x02" * 31,
    "long": b"\x02" * 33,
    "empty": b"",
}


def test_same_input_gives_the_same_pseudonym() -> None:
    """Two independent blindings of one input unblind to the same 32-byte pseudonym."""
    a, b = _pseudonym(PERSON, b"bsn:123456782"), _pseudonym(PERSON, b"bsn:123456782")
    assert a == b and len(a) == oprf.ELEMENT_BYTES
    assert a == oprf.evaluate_element(PERSON, b"bsn:123456782")


def test_blinded_elements_differ_each_time() -> None:
    """The service sees a fresh, unlinkable element at every blinding of the same input."""
    assert oprf.blind(b"bsn:123456782").element != oprf.blind(b"bsn:123456782").element


def test_different_inputs_give_different_pseudonyms() -> None:
    """Distinct inputs give distinct pseudonyms."""
    values = {_pseudonym(PERSON, f"bsn:{n:09d}".encode()) for n in range(20)}
    assert len(values) == 20


def test_person_and_address_keys_differ_for_the_same_string() -> None:
    """The same string under the person and the address key gives different pseudonyms."""
    assert _pseudonym(PERSON, b"x") != _pseudonym(ADDRESS, b"x")
    assert PERSON != ADDRESS


@pytest.mark.parametrize("encoding", INVALID_ENCODINGS.values(), ids=INVALID_ENCODINGS.keys())
def test_invalid_elements_are_refused_everywhere(encoding: bytes) -> None:
    """Malformed, non-canonical and identity encodings are refused by every entry point."""
    with pytest.raises(InvalidArgument):
        oprf.deserialize_element(encoding)
    with pytest.raises(InvalidArgument):
        oprf.blind_evaluate(PERSON, encoding)
    with pytest.raises(InvalidArgument):
        oprf.unblind(pysodium.crypto_core_ristretto255_scalar_random(), encoding)
    with pytest.raises(InvalidArgument):
        oprf.rekey(pysodium.crypto_core_ristretto255_scalar_random(), encoding)


def test_negated_and_high_bit_forms_of_valid_points_are_refused() -> None:
    """For valid points, the negative (p - s) and the 2^255-offset forms are not accepted."""
    for _ in range(50):
        element = _valid_element()
        oprf.deserialize_element(element)
        s = int.from_bytes(element, "little")
        for bad in (_le(P - s), _le(s | 1 << 255)):
            with pytest.raises(InvalidArgument):
                oprf.deserialize_element(bad)
            with pytest.raises(InvalidArgument):
                oprf.blind_evaluate(PERSON, bad)


def test_the_fused_fast_path_agrees_with_deserialize_on_random_bytes() -> None:
    """blind_evaluate_many accepts exactly what deserialize_element accepts."""
    for _ in range(300):
        data = os.urandom(32)
        try:
            oprf.deserialize_element(data)
            valid = True
        except InvalidArgument:
            valid = False
        try:
            oprf.blind_evaluate(PERSON, data)
            evaluated = True
        except InvalidArgument:
            evaluated = False
        assert valid == evaluated


def test_an_invalid_element_is_named_by_its_index() -> None:
    """The error for a bad element in a batch names the element's index."""
    batch = [_valid_element(), _valid_element(), bytes(32), _valid_element()]
    with pytest.raises(InvalidArgument, match=r"blinded_elements\[2\]") as info:
        oprf.blind_evaluate_many(PERSON, batch)
    assert info.value.field == "blinded_elements[2]"
    with pytest.raises(InvalidArgument, match=r"evaluated_elements\[1\]"):
        oprf.unblind_many([oprf.blind(b"a").blind] * 3, [batch[0], b"\x01" * 32, batch[1]])


def test_scalars_must_be_canonical_and_non_zero() -> None:
    """A zero scalar, one at or above the group order, or a wrong length is refused."""
    for bad in (bytes(32), _le(oprf.ORDER), _le(oprf.ORDER + 1), b"\x01" * 31):
        with pytest.raises(InvalidArgument):
            oprf.deserialize_scalar(bad)
        with pytest.raises(InvalidArgument):
            oprf.blind(b"x", bad)
    assert oprf.deserialize_scalar(_le(oprf.ORDER - 1)) == _le(oprf.ORDER - 1)


def test_rekey_maps_old_pseudonyms_to_new() -> None:
    """rekey(k_new * k_old^-1) maps each old-key pseudonym to the new-key pseudonym."""
    old, new = _key(b"person/v1", b"\x01" * 32), _key(b"person/v2", b"\x02" * 32)
    factor = oprf.rekey_factor(old, new)
    for n in range(10):
        data = f"bsn:{n:09d}".encode()
        assert oprf.rekey(factor, _pseudonym(old, data)) == _pseudonym(new, data)


def test_batch_inversion_matches_single_inversion() -> None:
    """invert_many gives each scalar's own inverse."""
    scalars = [pysodium.crypto_core_ristretto255_scalar_random() for _ in range(17)]
    expected = [pysodium.crypto_core_ristretto255_scalar_invert(s) for s in scalars]
    assert oprf.invert_many(scalars) == expected
    assert oprf.invert_many([]) == []


def test_batch_helpers_agree_with_single_operations() -> None:
    """Blinding, evaluating and unblinding many inputs gives each input's pseudonym."""
    inputs = [f"nl:1234AB:{n}::".encode() for n in range(25)]
    blinded = oprf.blind_many(inputs)
    evaluated = oprf.blind_evaluate_many(ADDRESS, [b.element for b in blinded])
    unblinded = oprf.unblind_many([b.blind for b in blinded], evaluated)
    assert unblinded == [oprf.evaluate_element(ADDRESS, x) for x in inputs]


def test_over_long_inputs_are_refused() -> None:
    """An input longer than 65535 bytes cannot be encoded in Finalize and is refused."""
    with pytest.raises(InvalidArgument, match="inputs"):
        oprf.blind_many([b"a", b"x" * 65536])
    with pytest.raises(InvalidArgument):
        oprf.evaluate(PERSON, b"x" * 65536)


def test_secrets_stay_out_of_repr() -> None:
    """Neither a private key nor a blind shows in repr."""
    b = oprf.blind(b"bsn:123456782")
    assert PERSON.private.hex() not in repr(PERSON) and repr(PERSON.private) not in repr(PERSON)
    assert repr(b.blind) not in repr(b)


def test_expand_message_xmd_matches_rfc9380() -> None:
    """expand_message_xmd(SHA-512) reproduces RFC 9380 appendix K.3."""
    dst = b"QUUX-V01-CS02-with-expander-SHA512-256"
    assert oprf.expand_message_xmd(b"", dst, 0x20).hex() == (
        "6b9a7312411d92f921c6f68ca0b6380730a1a4d982c507211a90964c394179ba"
    )
    assert oprf.expand_message_xmd(b"abc", dst, 0x20).hex() == (
        "0da749f12fbe5483eb066a5f595055679b976e93abe9be6f0f6318bce7aca8dc"
    )
    # 128 bytes takes two SHA-512 blocks, exercising the chained b_i.
    assert oprf.expand_message_xmd(b"", dst, 0x80).hex() == (
        "41b037d1734a5f8df225dd8c7de38f851efdb45c372887be655212d07251b921"
        "b052b62eaed99b46f72f2ef4cc96bfaf254ebbbec091e1a3b9e4fb5e5b619d2e"
        "0c5414800a1d882b62bb5cd1778f098b8eb6cb399d5d9d18f5d5842cf5d13d7e"
        "b00a7cff859b605da678b318bd0e65ebff70bec88c753b159a805d2c89c55961"
    )
