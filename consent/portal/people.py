"""The people a logged-in resident sees and acts for: themselves and the children they represent.

Forms name people by a key ("zelf", "kind-1", ...) that means something only within this
resident's session; a key that is not theirs names nobody. Children from 16 decide for
themselves, so their parents no longer see or manage their data here; a person under 12 has
it managed by their parents (DOMAIN rule 6, consent.representation).
"""

from __future__ import annotations

from dataclasses import dataclass

from consent.model import Party, Pseudonym
from consent.portal.texts import years_nl
from consent.representation import CO_DECISION_AGE, INDEPENDENT_AGE, Actor

SELF_KEY = "zelf"


@dataclass(frozen=True)
class Person:
    key: str
    pseudonym: Pseudonym
    #: "u zelf", "kind 1 (14 jaar)": how pages name them, lower case, to go inside a sentence.
    label: str
    age: int
    #: The resident's capacity for this person.
    party: Party

    @property
    def included(self) -> bool:
        """Whether the resident sees and manages this person's data in the portal."""
        if self.party is Party.SUBJECT:
            return self.age >= CO_DECISION_AGE
        return self.age < INDEPENDENT_AGE

    @property
    def title(self) -> str:
        return self.label[0].upper() + self.label[1:]


class Household:
    """The resident and the children they represent, in the order the login gave them."""

    def __init__(self, actor: Actor) -> None:
        me = Person(SELF_KEY, actor.person, "u zelf", actor.age, Party.SUBJECT)
        children = [
            Person(f"kind-{n}", c.person, f"kind {n} ({years_nl(c.age)})", c.age, Party.PARENT)
            for n, c in enumerate(actor.children, start=1)
        ]
        self.actor = actor
        self.everyone = (me, *children)
        self.me = me

    @property
    def included(self) -> list[Person]:
        return [p for p in self.everyone if p.included]

    @property
    def excluded(self) -> list[Person]:
        return [p for p in self.everyone if not p.included]

    def by_key(self, key: str) -> Person | None:
        """The included person with that key, or None (a key that is not theirs, or a 16+ child)."""
        return next((p for p in self.included if p.key == key), None)

    def by_pseudonym(self, pseudonym: Pseudonym) -> Person | None:
        return next((p for p in self.included if p.pseudonym == pseudonym), None)
