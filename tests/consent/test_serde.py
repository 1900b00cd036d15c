"""Proto <-> domain: round trips, unknown values refused by field, and a domain free of grpc."""

from __future__ import annotations

import ast
import datetime as dt
from pathlib import Path

import pytest

from consent import serde
from consent.model import Decision, Entry, EntryState, Party, Purpose, Source, Validity
from consent.representation import Actor, RepresentedChild
from seinhuis.errors import InvalidArgument
from seinhuis.v1 import consent_pb2
from seinhuis.vocabulary import PartnerType
from tests.consent.conftest import CHILD, PARENT, T0, grant_request

CONSENT = Path(__file__).resolve().parents[2] / "consent"
#: The domain core: plain dataclasses in and out, no transport, wire format or database.
DOMAIN_MODULES = [
    "model.py",
    "precedence.py",
    "representation.py",
    "registry.py",
    "access.py",
    "store/base.py",
    "store/memory.py",
]
FORBIDDEN = ("grpc", "sqlmodel", "sqlalchemy", "google.protobuf", "seinhuis.v1")


@pytest.mark.parametrize("module", DOMAIN_MODULES)
def test_the_domain_imports_neither_grpc_nor_protobuf_nor_sql(module: str) -> None:
    """Domain modules import nothing from gRPC, generated code or the database layer."""
    tree = ast.parse((CONSENT / module).read_text())
    imported = [
        name
        for node in ast.walk(tree)
        for name in (
            [a.name for a in node.names]
            if isinstance(node, ast.Import)
            else [node.module or ""]
            if isinstance(node, ast.ImportFrom)
            else []
        )
    ]
    assert not [n for n in imported if n.startswith(FORBIDDEN)]


def test_a_grant_survives_the_wire_unchanged() -> None:
    """grant_to_proto then grant_from_proto gives back the same actor and request."""
    actor = Actor(PARENT, 41, (RepresentedChild(CHILD, 13),))
    request = grant_request(
        source=Source.organisation("ggd-amsterdam"),
        life_domain=None,
        decision=Decision.DENY,
        valid_from=T0,
        valid_until=T0 + dt.timedelta(days=90),
    )
    assert serde.grant_from_proto(serde.grant_to_proto(actor, request)) == (actor, request)


def test_an_entry_survives_the_wire_unchanged() -> None:
    """entry_to_proto then entry_from_proto gives back the same entry, pending state included."""
    entry = Entry(
        id=bytes(range(16)),
        cell=grant_request().cell,
        decision=Decision.PERMIT,
        validity=Validity(T0, None),
        state=EntryState.GRANT_PENDING,
        awaiting=Party.SUBJECT,
        created_at=T0,
        changed_at=T0,
    )
    assert serde.entry_from_proto(serde.entry_to_proto(entry)) == entry


def _grant(**changes: object) -> consent_pb2.GrantRequest:
    msg = serde.grant_to_proto(Actor(PARENT, 41, (RepresentedChild(CHILD, 8),)), grant_request())
    for name, value in changes.items():
        setattr(msg, name, value)
    return msg


@pytest.mark.parametrize(
    ("msg", "field"),
    [
        (_grant(life_domain=99), "life_domain"),
        (_grant(all_life_domains=False), "life_domain"),
        (_grant(purpose=0), "purpose"),
        (_grant(purpose=42), "purpose"),
        (_grant(decision=0), "decision"),
        (consent_pb2.GrantRequest(), "actor"),
    ],
    ids=[
        "unknown domain",
        "all_life_domains false",
        "no purpose",
        "unknown purpose",
        "no decision",
        "no actor",
    ],
)
def test_unknown_or_missing_values_name_the_field(
    msg: consent_pb2.GrantRequest, field: str
) -> None:
    """Unknown enum numbers and missing parts are INVALID_ARGUMENT naming the field."""
    with pytest.raises(InvalidArgument, match=rf"^{field}:"):
        serde.grant_from_proto(msg)


def test_an_unknown_partner_category_is_refused() -> None:
    """A category number outside the vocabulary never becomes a Source."""
    msg = consent_pb2.ConsentSource(partner_type=77)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument, match=r"^source\.partner_type:"):
        serde.source_from_proto(msg)
    assert serde.source_from_proto(
        serde.source_to_proto(Source.category(PartnerType.BRP))
    ) == Source.category(PartnerType.BRP)


def test_purpose_names_match_the_proto() -> None:
    """The domain Purpose converts to the proto value of the same name."""
    msg = serde.grant_to_proto(
        Actor(PARENT, 41), grant_request(PARENT, purpose=Purpose.DISCLOSURE_TO_REGIEHOUDER)
    )
    assert msg.purpose == consent_pb2.PURPOSE_DISCLOSURE_TO_REGIEHOUDER
