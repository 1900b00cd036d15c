"""The synthetic residents the development provider offers; every citizen number starts with 999.

999-numbers pass the elfproef but are never issued to real people (they are reserved for tests),
so nothing here can name a real resident. Ages are fixed: the demo needs a parent of a young
child and of a 12 to 15-year-old, that child, a 16-year-old and adults alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Child:
    name: str
    bsn: str
    age: int


@dataclass(frozen=True)
class Resident:
    #: What the login page posts back: an opaque key, never the citizen number.
    key: str
    name: str
    bsn: str
    age: int
    children: tuple[Child, ...] = ()
    #: Who this resident shows off in the demo.
    note: str = ""

    @property
    def sub(self) -> str:
        """The provider's stable subject identifier (not the citizen number)."""
        return f"ontwikkel-{self.key}"

    def claims(self) -> dict[str, Any]:
        return {
            "sub": self.sub,
            "bsn": self.bsn,
            "age": self.age,
            "children": [{"bsn": c.bsn, "age": c.age} for c in self.children],
        }


_DAAN = Child("Daan de Vries", "999000020", 9)
_SARA = Child("Sara de Vries", "999000032", 14)

RESIDENTS: tuple[Resident, ...] = (
    Resident(
        "anna",
        "Anna de Vries",
        "999000019",
        38,
        (_DAAN, _SARA),
        "moeder van Daan (9) en Sara (14)",
    ),
    Resident("kees", "Kees de Vries", "999000044", 41, (_DAAN, _SARA), "vader van Daan en Sara"),
    Resident("sara", "Sara de Vries", "999000032", 14, (), "14 jaar: beslist samen met een ouder"),
    Resident("mila", "Mila Bakker", "999000056", 17, (), "17 jaar: beslist zelf"),
    Resident("bram", "Bram Jansen", "999000068", 67, (), "woont alleen"),
    # The mother of family A in demo/scenario.yaml (`make demo`), with her two children.
    Resident(
        "marieke",
        "Marieke Bos",
        "999000007",
        40,
        (Child("Lotte Bos", "999000019", 14), Child("Sem Bos", "999000020", 11)),
        "moeder van gezin A uit make demo",
    ),
    Resident(
        "fatima",
        "Fatima el Amrani",
        "999000081",
        29,
        (Child("Noah el Amrani", "999000093", 2),),
        "moeder van Noah (2)",
    ),
)


def by_key(key: str) -> Resident | None:
    return next((r for r in RESIDENTS if r.key == key), None)
