"""RFC 9497 OPRF, suite ristretto255-SHA512, base mode (0), on libsodium through pysodium.

Elements and scalars travel as their 32-byte canonical encodings (scalars little-endian).
Seinhuis' pseudonym is the unblinded element `k * HashToGroup(input)` rather than Finalize's
hash, because only an element can be re-keyed: `rekey(k_new * k_old^-1, element)`.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass, field

import pysodium

from seinhuis.errors import InvalidArgument

MODE_OPRF = 0
IDENTIFIER = b"ristretto255-SHA512"
CONTEXT_STRING = b"OPRFV1-" + MODE_OPRF.to_bytes(1, "big") + b"-" + IDENTIFIER
HASH_TO_GROUP_DST = b"HashToGroup-" + CONTEXT_STRING
HASH_TO_SCALAR_DST = b"HashToScalar-" + CONTEXT_STRING
DERIVE_KEY_PAIR_DST = b"DeriveKeyPair" + CONTEXT_STRING

ELEMENT_BYTES = 32
SCALAR_BYTES = 32
OUTPUT_BYTES = 64
#: The order of the ristretto255 group (RFC 9496).
ORDER = 2**252 + 27742317777372353535851937790883648493
#: Finalize encodes len(input) in two bytes.
MAX_INPUT_BYTES = 2**16 - 1

_IDENTITY = bytes(ELEMENT_BYTES)
_SHA512_BLOCK = 128
_SHA512_OUT = 64

# Bound once: these run per element on the hot paths.
_scalarmult = pysodium.crypto_scalarmult_ristretto255
_scalar_mul = pysodium.crypto_core_ristretto255_scalar_mul
_scalar_invert = pysodium.crypto_core_ristretto255_scalar_invert


def _i2osp(value: int, length: int) -> bytes:
    return value.to_bytes(length, "big")


def expand_message_xmd(msg: bytes, dst: bytes, length: int) -> bytes:
    """RFC 9380 section 5.3.1 with SHA-512."""
    ell = -(-length // _SHA512_OUT)
    if ell > 255 or length > 65535 or len(dst) > 255:
        raise ValueError("expand_message_xmd: length or DST too long")
    dst_prime = dst + _i2osp(len(dst), 1)
    msg_prime = bytes(_SHA512_BLOCK) + msg + _i2osp(length, 2) + b"\x00" + dst_prime
    b_0 = hashlib.sha512(msg_prime).digest()
    b_i = hashlib.sha512(b_0 + b"\x01" + dst_prime).digest()
    uniform = [b_i]
    for i in range(2, ell + 1):
        mixed = bytes(x ^ y for x, y in zip(b_0, b_i, strict=True))
        b_i = hashlib.sha512(mixed + _i2osp(i, 1) + dst_prime).digest()
        uniform.append(b_i)
    return b"".join(uniform)[:length]


def hash_to_group(msg: bytes) -> bytes:
    """HashToGroup: the one-way map of 64 expanded bytes onto ristretto255."""
    point: bytes = pysodium.crypto_core_ristretto255_from_hash(
        expand_message_xmd(msg, HASH_TO_GROUP_DST, 64)
    )
    return point


def hash_to_scalar(msg: bytes, dst: bytes = HASH_TO_SCALAR_DST) -> bytes:
    """HashToScalar: 64 expanded bytes as a little-endian integer, reduced modulo the order."""
    scalar: bytes = pysodium.crypto_core_ristretto255_scalar_reduce(
        expand_message_xmd(msg, dst, 64)
    )
    return scalar


def _is_zero(data: bytes) -> bool:
    return hmac.compare_digest(data, bytes(len(data)))


def deserialize_scalar(data: bytes, *, field: str = "scalar") -> bytes:
    """Accept only a canonical (below the group order), non-zero 32-byte scalar."""
    if len(data) != SCALAR_BYTES or int.from_bytes(data, "little") >= ORDER or _is_zero(data):
        raise InvalidArgument("not a canonical non-zero ristretto255 scalar", field=field)
    return bytes(data)


def deserialize_element(data: bytes, *, field: str = "element") -> bytes:
    """Accept only a canonical encoding of a valid ristretto255 point other than the identity."""
    if (
        len(data) != ELEMENT_BYTES
        or data[31] & 0x80  # libsodium 1.0.18 ignores bit 255; RFC 9496 requires s < p
        or data == _IDENTITY
        or not pysodium.crypto_core_ristretto255_is_valid_point(data)
    ):
        raise InvalidArgument("not a canonical ristretto255 element", field=field)
    return bytes(data)


@dataclass(frozen=True, eq=False)
class OprfKey:
    """A server key pair; the private scalar never appears in repr and compares in constant time."""

    private: bytes = field(repr=False)
    public: bytes

    def __post_init__(self) -> None:
        deserialize_scalar(self.private, field="private key")
        deserialize_element(self.public, field="public key")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, OprfKey):
            return NotImplemented
        return hmac.compare_digest(self.private, other.private)

    def __hash__(self) -> int:
        return hash(self.public)

    @classmethod
    def from_private(cls, private: bytes) -> OprfKey:
        deserialize_scalar(private, field="private key")
        return cls(private, pysodium.crypto_scalarmult_ristretto255_base(private))


def derive_key_pair(seed: bytes, info: bytes) -> OprfKey:
    """DeriveKeyPair (RFC 9497 section 3.2.1): a key from a 32-byte seed and a label."""
    if len(seed) != 32:
        raise ValueError("DeriveKeyPair needs a 32-byte seed")
    derive_input = seed + _i2osp(len(info), 2) + info
    for counter in range(256):
        sk = hash_to_scalar(derive_input + _i2osp(counter, 1), DERIVE_KEY_PAIR_DST)
        if not _is_zero(sk):
            return OprfKey.from_private(sk)
    raise ValueError("DeriveKeyPairError")  # pragma: no cover - probability 2^-2000


@dataclass(frozen=True, eq=False)
class Blinded:
    """A client's blinded input: the element to send and the blind to keep (not in repr)."""

    blind: bytes = field(repr=False)
    element: bytes


def _input_element(data: bytes, where: str = "input") -> bytes:
    if len(data) > MAX_INPUT_BYTES:
        raise InvalidArgument(f"longer than {MAX_INPUT_BYTES} bytes", field=where)
    point = hash_to_group(data)
    if point == _IDENTITY:  # RFC 9497 InvalidInputError; probability negligible
        raise InvalidArgument("maps to the identity element", field=where)
    return point


def blind(data: bytes, blind: bytes | None = None) -> Blinded:
    """Blind: a fresh random scalar (or the given one, for tests) times HashToGroup(input)."""
    return blind_many([data], None if blind is None else [blind])[0]


def blind_many(inputs: Sequence[bytes], blinds: Sequence[bytes] | None = None) -> list[Blinded]:
    """Blind each input with its own fresh random scalar (or the given ones, for test vectors)."""
    if blinds is None:
        blinds = [pysodium.crypto_core_ristretto255_scalar_random() for _ in inputs]
    elif len(blinds) != len(inputs):
        raise InvalidArgument(f"{len(blinds)} blinds for {len(inputs)} inputs", field="blinds")
    out = []
    for i, (data, r) in enumerate(zip(inputs, blinds, strict=True)):
        deserialize_scalar(r, field=f"blinds[{i}]")
        out.append(Blinded(r, _scalarmult(r, _input_element(data, f"inputs[{i}]"))))
    return out


def _bad_element(field: str) -> InvalidArgument:
    return InvalidArgument("not a canonical ristretto255 element", field=field)


def blind_evaluate(key: OprfKey, blinded_element: bytes) -> bytes:
    """BlindEvaluate: the key times a validated blinded element."""
    return blind_evaluate_many(key, [blinded_element], field="blinded_element")[0]


def blind_evaluate_many(
    key: OprfKey, elements: Sequence[bytes], *, field: str = "blinded_elements"
) -> list[bytes]:
    """BlindEvaluate a batch; the first invalid element raises InvalidArgument naming its index.

    libsodium's scalar multiplication already refuses non-canonical and invalid encodings and
    an identity result (only the identity gives one, the group having prime order), so one call
    per element validates and multiplies: this is the service's hot path.
    """
    k = key.private
    out: list[bytes] = []
    append = out.append
    for i, element in enumerate(elements):
        try:
            if element[31] & 0x80:  # see deserialize_element
                raise ValueError
            append(_scalarmult(k, element))
        except (ValueError, TypeError, IndexError):
            raise _bad_element(f"{field}[{i}]") from None
    return out


def _multiply(scalar: bytes, element: bytes, field: str) -> bytes:
    """scalar * element, refusing what deserialize_element refuses (see blind_evaluate_many)."""
    try:
        if element[31] & 0x80:
            raise ValueError
        return bytes(_scalarmult(scalar, element))
    except (ValueError, TypeError, IndexError):
        raise _bad_element(field) from None


def invert_many(scalars: Sequence[bytes]) -> list[bytes]:
    """Invert non-zero scalars with one inversion (Montgomery's trick): inversion costs ~25 muls."""
    if not scalars:
        return []
    prefix = [scalars[0]]
    for s in scalars[1:]:
        prefix.append(_scalar_mul(prefix[-1], s))
    acc = _scalar_invert(prefix[-1])  # raises ValueError if any scalar was zero
    out = [b""] * len(scalars)
    for i in range(len(scalars) - 1, 0, -1):
        out[i] = _scalar_mul(acc, prefix[i - 1])
        acc = _scalar_mul(acc, scalars[i])
    out[0] = acc
    return out


def unblind(blind: bytes, evaluated: bytes) -> bytes:
    """The unblinded element blind^-1 * evaluated: Seinhuis' pseudonym, 32 bytes."""
    return unblind_many([blind], [evaluated], field="evaluated_element")[0]


def unblind_many(
    blinds: Sequence[bytes], evaluated: Sequence[bytes], *, field: str = "evaluated_elements"
) -> list[bytes]:
    """Unblind a batch; an invalid evaluated element raises InvalidArgument naming its index."""
    if len(blinds) != len(evaluated):
        raise InvalidArgument(f"{len(evaluated)} elements for {len(blinds)} blinds", field=field)
    for i, r in enumerate(blinds):
        deserialize_scalar(r, field=f"blinds[{i}]")
    return [
        _multiply(inverse, element, f"{field}[{i}]")
        for i, (inverse, element) in enumerate(zip(invert_many(blinds), evaluated, strict=True))
    ]


def finalize(data: bytes, blind: bytes, evaluated: bytes) -> bytes:
    """Finalize: the 64-byte PRF output Hash(len || input || len || unblinded || "Finalize")."""
    return _output(data, unblind(blind, evaluated))


def _output(data: bytes, unblinded: bytes) -> bytes:
    if len(data) > MAX_INPUT_BYTES:
        raise InvalidArgument(f"longer than {MAX_INPUT_BYTES} bytes", field="input")
    return hashlib.sha512(
        _i2osp(len(data), 2) + data + _i2osp(len(unblinded), 2) + unblinded + b"Finalize"
    ).digest()


def evaluate_element(key: OprfKey, data: bytes) -> bytes:
    """The unblinded element k * HashToGroup(input) computed directly with the key."""
    return bytes(_scalarmult(key.private, _input_element(data)))


def evaluate(key: OprfKey, data: bytes) -> bytes:
    """Evaluate (RFC 9497 section 3.3.1): the server's own PRF output for an input."""
    return _output(data, evaluate_element(key, data))


def rekey_factor(old: OprfKey, new: OprfKey) -> bytes:
    """The scalar k_new * k_old^-1 that moves an element from the old key to the new one."""
    factor: bytes = _scalar_mul(new.private, _scalar_invert(old.private))
    return factor


def rekey(factor: bytes, element: bytes) -> bytes:
    """Move an element to another key: factor * element (validates both)."""
    deserialize_scalar(factor, field="factor")
    return _multiply(factor, element, "element")
