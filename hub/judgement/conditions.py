"""Rule conditions from policy files: `min_*`/`max_*` bounds and flags over named facts."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

Bound = Literal["min", "max", "is"]


@dataclass(frozen=True)
class Condition:
    """One test: a fact at least (`min_`), at most (`max_`) or equal to (flag) a value."""

    fact: str
    bound: Bound
    value: int | bool

    @classmethod
    def parse(cls, key: str, value: int | bool) -> Condition:
        if key.startswith("min_"):
            return cls(key[4:], "min", value)
        if key.startswith("max_"):
            return cls(key[4:], "max", value)
        return cls(key, "is", value)

    def holds(self, facts: Mapping[str, int | bool]) -> bool:
        actual = facts[self.fact]
        if self.bound == "min":
            return actual >= self.value
        if self.bound == "max":
            return actual <= self.value
        return actual == self.value


@dataclass(frozen=True)
class Predicate:
    """Alternatives of conditions: holds when every condition of at least one alternative holds."""

    alternatives: tuple[tuple[Condition, ...], ...]

    @classmethod
    def parse(cls, alternatives: list[dict[str, int | bool]]) -> Predicate:
        return cls(
            tuple(
                tuple(Condition.parse(k, v) for k, v in sorted(alt.items())) for alt in alternatives
            )
        )

    def holds(self, facts: Mapping[str, int | bool]) -> bool:
        return any(all(c.holds(facts) for c in alt) for alt in self.alternatives)


@dataclass(frozen=True)
class NamedRule:
    """A rule with a name (unique in its file), a Dutch description and a predicate."""

    name: str
    description: str
    predicate: Predicate

    def holds(self, facts: Mapping[str, int | bool]) -> bool:
        return self.predicate.holds(facts)
