"""Identifier value objects: validation, normalisation, and values that never show."""

from __future__ import annotations

import datetime as dt
import pickle

import pytest
from hypothesis import given
from hypothesis import strategies as st

from node.identifiers import BirthDate, Bsn, DutchAddress, PartnerReference, elfproef
from seinhuis.errors import InvalidArgument
from tests.node.conftest import make_bsn

TODAY = dt.date(2026, 11, 22)


@pytest.mark.parametrize("n", range(20))
def test_generated_test_numbers_pass_the_elfproef(n: int) -> None:
    """Every number the helper makes starts with 999 and passes the eleven test."""
    number = make_bsn(n)
    assert number.startswith("999") and len(number) == 9
    assert elfproef(number)
    assert Bsn(number).digits == number


def test_a_bsn_accepts_spaces_and_dots() -> None:
    """Separators partners type are ignored: '9990.000.21' is the same number."""
    number = make_bsn(3)
    spaced = f"{number[:4]} {number[4:6]}.{number[6:]}"
    assert Bsn(spaced) == Bsn(number)
    assert Bsn(spaced).oprf_input == b"bsn:" + number.encode()


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        ("", "required"),
        ("12345678", "9 digits"),
        ("1234567890", "9 digits"),
        ("99900002x", "9 digits"),
        ("000000000", "elfproef"),
        ("٩٩٩٠٠٠٠٢١", "9 digits"),  # Arabic-Indic digits are not digits here
    ],
)
def test_a_malformed_bsn_is_refused_naming_the_field(raw: str, why: str) -> None:
    """The error names subject.bsn and the rule, never the value."""
    with pytest.raises(InvalidArgument) as info:
        Bsn(raw)
    assert info.value.message.startswith("subject.bsn: ")
    assert why in info.value.message
    if raw:
        assert raw not in info.value.message


def test_a_bsn_failing_the_elfproef_is_refused() -> None:
    """Changing the last digit of a valid number breaks the eleven test."""
    number = make_bsn(0)
    wrong = number[:-1] + str((int(number[-1]) + 1) % 10)
    with pytest.raises(InvalidArgument, match="elfproef") as info:
        Bsn(wrong)
    assert wrong not in str(info.value)


@given(st.text(alphabet="0123456789", min_size=9, max_size=9))
def test_elfproef_matches_its_definition(digits: str) -> None:
    """Weights 9..2 and -1 for the last digit; divisible by 11; not all zeros."""
    total = sum(int(d) * w for d, w in zip(digits, (9, 8, 7, 6, 5, 4, 3, 2, -1), strict=True))
    assert elfproef(digits) == (total % 11 == 0 and digits != "000000000")


def test_identifiers_never_show_their_value() -> None:
    """repr and str hide the value; pickling is refused."""
    number = make_bsn(1)
    values = [
        Bsn(number),
        BirthDate(dt.date(1980, 5, 17), today=TODAY),
        DutchAddress("1234 AB", 56, "c", "bis"),
    ]
    for value in values:
        for text in (repr(value), str(value), f"{value}", repr([value])):
            assert number not in text
            assert "1980" not in text
            assert "1234" not in text and "56" not in text
            assert "<hidden>" in text
        with pytest.raises(TypeError):
            pickle.dumps(value)


def test_identifiers_are_immutable_and_compare_by_value() -> None:
    """Equal values are equal and hash alike; attributes cannot be changed."""
    a, b = DutchAddress("1234ab", 5), DutchAddress("1234 AB", 5)
    assert a == b and hash(a) == hash(b)
    assert a != DutchAddress("1234AB", 6)
    with pytest.raises(AttributeError):
        a._key = b"x"


@pytest.mark.parametrize(
    ("raw", "normal"),
    [("1234 AB", "1234AB"), ("1234ab", "1234AB"), (" 9999 zz ", "9999ZZ"), ("1011Ac", "1011AC")],
)
def test_postcodes_are_normalised(raw: str, normal: str) -> None:
    """Space removed, letters upper-cased."""
    assert DutchAddress(raw, 1).oprf_input == f"nl:{normal}:1::".encode()


@pytest.mark.parametrize(
    "raw", ["0123AB", "123AB", "12345AB", "1234A", "1234 SA", "1234sd", "1234SS", "1234-AB"]
)
def test_invalid_postcodes_are_refused(raw: str) -> None:
    """First digit not 0, two letters, never SA/SD/SS; the message names the field only."""
    with pytest.raises(InvalidArgument) as info:
        DutchAddress(raw, 1)
    assert info.value.message.startswith("subject.postcode: ")
    assert raw.strip() not in info.value.message


def test_the_canonical_address_input_has_every_part() -> None:
    """nl:<postcode>:<number>:<letter>:<addition>, letter and addition upper-cased."""
    assert DutchAddress("1234 ab", 12, "b", "2 hg").oprf_input == b"nl:1234AB:12:B:2HG"
    assert DutchAddress("1234 ab", 12, "", "").oprf_input == b"nl:1234AB:12::"
    assert DutchAddress("1234ab", 12, "", "-3").oprf_input == b"nl:1234AB:12::3"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"house_number": 0}, "subject.house_number"),
        ({"house_number": 100_000}, "subject.house_number"),
        ({"house_number": None}, "subject.house_number"),
        ({"house_letter": "ab"}, "subject.house_letter"),
        ({"house_letter": "1"}, "subject.house_letter"),
        ({"addition": "abcde"}, "subject.house_number_addition"),
        ({"addition": "a!"}, "subject.house_number_addition"),
    ],
)
def test_invalid_address_parts_are_refused(kwargs: dict[str, object], field: str) -> None:
    """House number 1..99999, one letter, up to 4 letters or digits as addition."""
    args: dict[str, object] = {"postcode": "1234AB", "house_number": 1} | kwargs
    with pytest.raises(InvalidArgument) as info:
        DutchAddress(**args)  # type: ignore[arg-type]
    assert info.value.field == field


def test_a_field_prefix_names_nested_addresses() -> None:
    """Population events name their own path, e.g. relocation.to_address.postcode."""
    with pytest.raises(InvalidArgument, match=r"^relocation\.to_address\.postcode: "):
        DutchAddress("x", 1, field="relocation.to_address")


@pytest.mark.parametrize(
    ("value", "why"),
    [
        (dt.date(1899, 12, 31), "1900"),
        (TODAY + dt.timedelta(days=1), "future"),
        (None, "required"),
    ],
)
def test_impossible_birth_dates_are_refused(value: dt.date | None, why: str) -> None:
    """From 1900 on, not in the future."""
    with pytest.raises(InvalidArgument, match=why) as info:
        BirthDate(value, today=TODAY)
    assert info.value.field == "subject.birth_date"


def test_a_birth_date_keeps_its_date_for_retention() -> None:
    """The node can read the date back to compute retention."""
    assert BirthDate(dt.date(2010, 1, 31), today=TODAY).date == dt.date(2010, 1, 31)


@pytest.mark.parametrize("raw", ["", "a" * 65, "has space", "semi;colon", "é"])
def test_invalid_partner_references_are_refused(raw: str) -> None:
    """A reference outside 1 to 64 of [A-Za-z0-9._:-] is refused naming the field."""
    with pytest.raises(InvalidArgument, match=r"^partner_reference: "):
        PartnerReference(raw)


def test_a_partner_reference_allows_its_alphabet() -> None:
    """Letters, digits, '.', '_', ':' and '-' are allowed."""
    assert PartnerReference("case-2026.11_22:x").value == "case-2026.11_22:x"
