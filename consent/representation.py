"""Who may decide about whose consent: the person themselves and parents, by age.

The facts arrive as data with each request (`Actor`): the logged-in person, their age, and the
children under their parental authority with their ages, as the portal's identity provider
told it at login. The registry never stores an age, a birth date or a citizen number.

The rules (the Dutch age limits for processing a minor's data):

    subject's age   who decides
    under 12        a parent alone; the child cannot act
    12 to 15        the parent AND the child, for anything that widens what may be shared;
                    either of them alone for anything that narrows it
    16 and over     the young person alone; parents can no longer act

Widening is granting a PERMIT, or revoking an objection (DENY); narrowing is granting a DENY,
or revoking a PERMIT or a pending grant. For 12 to 15-year-olds a widening change is recorded
as pending and takes effect when the other party makes the same change (the same grant, or a
revocation of the same entry): a pending grant does not count, and an objection whose
revocation is pending still does. Any one parent with authority acts as "the parent".
"""

from __future__ import annotations

from dataclasses import dataclass

from consent.model import Party, Pseudonym
from seinhuis.errors import InvalidArgument, PermissionDenied

__all__ = [
    "CO_DECISION_AGE",
    "INDEPENDENT_AGE",
    "Actor",
    "Party",
    "RepresentedChild",
    "Standing",
    "required_parties",
    "standing",
]

#: From this age a person takes part in decisions about their own data.
CO_DECISION_AGE = 12
#: From this age a person decides alone.
INDEPENDENT_AGE = 16
MAX_AGE = 130


def _check_age(age: int, field_name: str) -> None:
    if isinstance(age, bool) or not isinstance(age, int) or not 0 <= age <= MAX_AGE:
        raise InvalidArgument(
            f"must be a whole number of years from 0 to {MAX_AGE}", field=field_name
        )


@dataclass(frozen=True)
class RepresentedChild:
    """A child the actor has parental authority over, and the child's age now."""

    person: Pseudonym
    age: int

    def __post_init__(self) -> None:
        _check_age(self.age, "actor.children.age")


@dataclass(frozen=True)
class Actor:
    """The logged-in person, their age now, and the children they represent."""

    person: Pseudonym
    age: int
    children: tuple[RepresentedChild, ...] = ()

    def __post_init__(self) -> None:
        _check_age(self.age, "actor.age")
        object.__setattr__(self, "children", tuple(self.children))
        people = [self.person, *(c.person for c in self.children)]
        if len(set(people)) != len(people):
            raise InvalidArgument(
                "a child may appear once and may not be the actor", field="actor.children"
            )


@dataclass(frozen=True)
class Standing:
    """In which capacity the actor acts for the subject, and the subject's age."""

    party: Party
    subject_age: int

    @property
    def required(self) -> frozenset[Party]:
        """Who must agree to a widening change."""
        return required_parties(self.subject_age)

    @property
    def decides_alone(self) -> bool:
        """Whether this actor's widening change takes effect without the other party."""
        return self.required == {self.party}


def required_parties(age: int) -> frozenset[Party]:
    if age < CO_DECISION_AGE:
        return frozenset({Party.PARENT})
    if age < INDEPENDENT_AGE:
        return frozenset({Party.PARENT, Party.SUBJECT})
    return frozenset({Party.SUBJECT})


def standing(actor: Actor, subject: Pseudonym) -> Standing:
    """The actor's standing for the subject; PermissionDenied naming the rule when none."""
    if actor.person == subject:
        if actor.age < CO_DECISION_AGE:
            raise PermissionDenied(
                "rule representation.under-12: under 12 a child's parents manage their consent"
            )
        return Standing(Party.SUBJECT, actor.age)
    # Every child is compared, so the time taken does not tell which one matched.
    found = [c for c in actor.children if c.person == subject]
    if not found:
        raise PermissionDenied(
            "rule representation.not-represented: a person may manage only their own consent "
            "and that of children under their parental authority"
        )
    child = found[0]
    if child.age >= INDEPENDENT_AGE:
        raise PermissionDenied(
            "rule representation.from-16: from 16 a young person manages their own consent"
        )
    return Standing(Party.PARENT, child.age)
