"""Identifier value objects: validated on construction, never shown in repr, str or errors."""

from __future__ import annotations

import datetime as dt
import hmac
import operator
import re
from typing import Final

from seinhuis.errors import InvalidArgument

_BSN_WEIGHTS: Final = (9, 8, 7, 6, 5, 4, 3, 2, -1)
_BSN_SEPARATORS = re.compile(r"[ .]")
_POSTCODE = re.compile(r"([1-9][0-9]{3}) ?([A-Za-z]{2})")
#: Letter pairs the postal service never issues (historical connotations).
_POSTCODE_FORBIDDEN_LETTERS = frozenset({"SA", "SD", "SS"})
_ADDITION_SEPARATORS = re.compile(r"[\s\-_/.]")
_ADDITION = re.compile(r"[A-Z0-9]{1,4}")
_REFERENCE = re.compile(r"[A-Za-z0-9._:-]{1,64}")
_MIN_BIRTH_DATE = dt.date(1900, 1, 1)
MAX_HOUSE_NUMBER = 99999


class _Secret:
    """Base for identifiers: equality in constant time, a repr that hides the value."""

    __slots__ = ("_key",)
    _key: bytes

    def __repr__(self) -> str:
        return f"{type(self).__name__}(<hidden>)"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        assert isinstance(other, _Secret)
        return hmac.compare_digest(self._key, other._key)

    def __hash__(self) -> int:
        return hash((type(self).__name__, self._key))

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __reduce__(self) -> str | tuple[object, ...]:
        # Pickling would be one more way for the value to end up somewhere it should not.
        raise TypeError(f"{type(self).__name__} cannot be pickled")


def elfproef(digits: str) -> bool:
    """True if 9 digits pass the BSN eleven test and are not all zeros."""
    if len(digits) != 9 or not digits.isascii() or not digits.isdigit():
        return False
    if digits == "000000000":
        return False
    total: int = sum(map(operator.mul, map(int, digits), _BSN_WEIGHTS))
    return total % 11 == 0


class Bsn(_Secret):
    """A burgerservicenummer: 9 digits (spaces and dots ignored) passing the elfproef."""

    __slots__ = ()

    def __init__(self, raw: str, *, field: str = "subject.bsn") -> None:
        if not isinstance(raw, str) or not raw.strip():
            raise InvalidArgument("required", field=field)
        digits = _BSN_SEPARATORS.sub("", raw.strip())
        if len(digits) != 9 or not digits.isascii() or not digits.isdigit():
            raise InvalidArgument("must be 9 digits", field=field)
        if not elfproef(digits):
            raise InvalidArgument("is not a valid citizen service number (elfproef)", field=field)
        object.__setattr__(self, "_key", digits.encode("ascii"))

    @property
    def digits(self) -> str:
        """The normalised 9 digits; only for pseudonymisation, never for logs."""
        return self._key.decode("ascii")

    @property
    def oprf_input(self) -> bytes:
        """The canonical OPRF input for a person: b"bsn:<9 digits>"."""
        return b"bsn:" + self._key


class BirthDate(_Secret):
    """A real date of birth from 1900 on and not in the future."""

    __slots__ = ()

    def __init__(
        self,
        value: dt.date | None,
        *,
        field: str = "subject.birth_date",
        today: dt.date | None = None,
    ) -> None:
        if value is None:
            raise InvalidArgument("required", field=field)
        if not isinstance(value, dt.date) or isinstance(value, dt.datetime):
            raise InvalidArgument("must be a date", field=field)
        if value < _MIN_BIRTH_DATE:
            raise InvalidArgument("must not be before 1900", field=field)
        if value > (today or dt.date.today()):
            raise InvalidArgument("must not be in the future", field=field)
        object.__setattr__(self, "_key", value.isoformat().encode("ascii"))

    @property
    def date(self) -> dt.date:
        """The date itself; used at the node for retention only, never sent or logged."""
        return dt.date.fromisoformat(self._key.decode("ascii"))


class DutchAddress(_Secret):
    """A Dutch address: postcode, house number, and optional huisletter and toevoeging."""

    __slots__ = ()

    def __init__(
        self,
        postcode: str,
        house_number: int | None,
        house_letter: str = "",
        addition: str = "",
        *,
        field: str = "subject",
    ) -> None:
        pc = _normalise_postcode(postcode, f"{field}.postcode")
        number = _check_house_number(house_number, f"{field}.house_number")
        letter = _normalise_letter(house_letter, f"{field}.house_letter")
        extra = _normalise_addition(addition, f"{field}.house_number_addition")
        object.__setattr__(self, "_key", f"nl:{pc}:{number}:{letter}:{extra}".encode("ascii"))

    @property
    def oprf_input(self) -> bytes:
        """The canonical OPRF input: b"nl:<postcode>:<number>:<letter>:<addition>"."""
        return self._key


def _normalise_postcode(raw: str, field: str) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise InvalidArgument("required", field=field)
    match = _POSTCODE.fullmatch(raw.strip())
    if match is None or not match.group(0).isascii():
        raise InvalidArgument('must look like "1234 AB" (first digit not 0)', field=field)
    letters = match.group(2).upper()
    if letters in _POSTCODE_FORBIDDEN_LETTERS:
        raise InvalidArgument("letters SA, SD and SS are never issued", field=field)
    return match.group(1) + letters


def _check_house_number(raw: int | None, field: str) -> int:
    if raw is None or raw == 0:
        raise InvalidArgument("required", field=field)
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise InvalidArgument("must be a whole number", field=field)
    if not 1 <= raw <= MAX_HOUSE_NUMBER:
        raise InvalidArgument(f"must be between 1 and {MAX_HOUSE_NUMBER}", field=field)
    return raw


def _normalise_letter(raw: str, field: str) -> str:
    letter = (raw or "").strip()
    if not letter:
        return ""
    if len(letter) != 1 or not letter.isascii() or not letter.isalpha():
        raise InvalidArgument("must be one letter", field=field)
    return letter.upper()


def _normalise_addition(raw: str, field: str) -> str:
    extra = _ADDITION_SEPARATORS.sub("", raw or "").upper()
    if not extra:
        return ""
    if not extra.isascii() or _ADDITION.fullmatch(extra) is None:
        raise InvalidArgument("must be 1 to 4 letters or digits", field=field)
    return extra


class PartnerReference:
    """The partner's own reference for a signal: 1 to 64 of letters, digits and ._:-"""

    __slots__ = ("value",)
    value: str

    def __init__(self, raw: str, *, field: str = "partner_reference") -> None:
        if not isinstance(raw, str) or _REFERENCE.fullmatch(raw) is None:
            # A reference is not an identifier, but a malformed one may hold one by mistake.
            raise InvalidArgument(
                "must be 1 to 64 of letters, digits, '.', '_', ':', '-'", field=field
            )
        object.__setattr__(self, "value", raw)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("PartnerReference is immutable")

    def __repr__(self) -> str:
        return f"PartnerReference({self.value!r})"

    def __str__(self) -> str:
        return self.value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PartnerReference) and other.value == self.value

    def __hash__(self) -> int:
        return hash(self.value)
