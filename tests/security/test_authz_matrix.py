"""Authorization matrix: every RPC of every service, called by every kind of caller (issue 6).

One network of real processes serves the module (seinhuis.network Layout and Launcher): the
pseudonymisation service, the hub, the consent registry with its resident portal, and a school's
node. Each caller calls each RPC over mutual TLS with a request that the intended caller would
get answered; MATRIX below says per cell what must come back. On any difference the test prints
the whole matrix, expected against actual in every cell that differs.

Callers (the columns):

    ggd woco school gp brp team   a partner of each kind, on its own resources
    other    a second GGD acting on ggd's resources: its signal, its partner id, its name as
             the sender of a statement
    hub      the hub's certificate
    oper preg bestr   staff certificates (`seinhuis keys add-staff`): operator,
             procesregisseur, bestuurder
    consent  the consent service's own certificate (its identity towards the hub)
    portal   the resident portal's certificate. Residents hold no certificate and call no
             gRPC service: they log in to the portal (HTTPS, DigiD) and act only through it.
             A resident calling a service directly has no certificate: that is `anon`.
    anon     no client certificate (TLS services), or no bearer token (the node's local API)
    gone     a certificate of the network's CA for a partner that no service lists (removed)
    stale    ggd's certificate; statements signed with a key that is not in the registry
    oldkey   ggd's certificate; statements signed with a registered key whose validity ended
    expired  an expired certificate of the network's CA in ggd's name
    alien    a certificate in ggd's name from another CA
    local    the partner's own system on the node's machine: plaintext, with the bearer token

Outcomes: OK (answered), UA UNAUTHENTICATED, PD PERMISSION_DENIED, NF NOT_FOUND, UV UNAVAILABLE
(no TLS session: the service never sees the call). A server stream counts as OK when its first
message arrives, or when it is still open, waiting for one, after STREAM_WAIT_S (a refusal ends
it at once).

The partner and staff identities come from `seinhuis keys` (through Layout); the expired and
foreign certificates are made here with seinhuis.crypto.pki.
"""

# ruff: noqa: E501  (the matrix is a table: one RPC per line, one caller per column)
from __future__ import annotations

import datetime as dt
import os
import re
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import grpc
import pytest
import yaml
from google.protobuf import message_factory
from google.protobuf.descriptor import MethodDescriptor
from google.protobuf.message import Message
from nacl.signing import SigningKey

from consent import serde as consent_serde
from consent.model import Cell, Decision, GrantRequest, Pseudonym, Purpose, Source
from consent.representation import Actor
from seinhuis.crypto import oprf
from seinhuis.crypto.envelope import Sealer
from seinhuis.crypto.keys import key_id, load_sealing_public, load_signing_key
from seinhuis.crypto.pki import DevCA
from seinhuis.keys_cli import PartnerSpec, add_staff
from seinhuis.network import Launcher, Layout, Running
from seinhuis.serde import date_to_proto
from seinhuis.transport import TlsFiles
from seinhuis.v1 import (
    consent_pb2,
    envelope_pb2,
    feed_pb2,
    intake_pb2,
    node_pb2,
    operator_pb2,
    pseudonym_pb2,
    resident_pb2,
    signal_pb2,
    vocabulary_pb2,
)
from seinhuis.vocabulary import LifeDomain, PartnerType

pytestmark = pytest.mark.slow

# --- the network ----------------------------------------------------------------------------

GGD = PartnerSpec("ggd-a", PartnerType.GGD)
WOCO = PartnerSpec("woco-a", PartnerType.WONINGCORPORATIE)
SCHOOL = PartnerSpec("school-a", PartnerType.SCHOOL)
GP = PartnerSpec("huisarts-a", PartnerType.HUISARTS)
BRP = PartnerSpec("brp-a", PartnerType.BRP)
TEAM = PartnerSpec("sociaal-a", PartnerType.SOCIAAL_TEAM)
OTHER = PartnerSpec("ggd-b", PartnerType.GGD)
PARTNERS = [GGD, WOCO, SCHOOL, GP, BRP, TEAM, OTHER]
#: A partner's name on a certificate of the network's CA that no service lists.
GONE_CN = "ggd-gone"

CALL_TIMEOUT_S = 15.0
STREAM_WAIT_S = 3.0
#: Cases the operator rows need: one per action, one nobody escalated, two escalated.
CASES = ("plain", "ack", "reassign", "escalate", "close", "to-preg", "to-bestr")
#: The consent-based signal each kind of partner sends (with the resident's consent).
CONSENTED = {
    PartnerType.GGD: vocabulary_pb2.SIGNAL_TYPE_ZORGWEKKEND_GEDRAG,
    PartnerType.HUISARTS: vocabulary_pb2.SIGNAL_TYPE_ZORGSIGNAAL_HUISARTS,
    PartnerType.SOCIAAL_TEAM: vocabulary_pb2.SIGNAL_TYPE_ZORG_SOCIAAL_TEAM,
}
BSN = "999990019"

# --- the matrix -----------------------------------------------------------------------------

MATRIX = """
row                          ggd woco school gp brp team other hub oper preg bestr consent portal anon gone stale oldkey expired alien local
Intake.Submit:own-kind        OK  OK   OK    OK  OK  OK   UA   UA   UA   UA   UA    UA      UA     UV   UA   UA    UA     UV      UV    UV
Intake.Submit:arrears         PD  OK   PD    PD  PD  PD   UA   UA   UA   UA   UA    UA      UA     UV   UA   UA    UA     UV      UV    UV
Intake.Submit:population      PD  PD   PD    PD  OK  PD   UA   UA   UA   UA   UA    UA      UA     UV   UA   UA    UA     UV      UV    UV
Intake.SubmitStream:own-kind  OK  OK   OK    OK  OK  OK   UA   UA   UA   UA   UA    UA      UA     UV   UA   UA    UA     UV      UV    UV
Intake.Withdraw:own-signal    OK  OK   OK    OK  NF  OK   NF   UA   UA   UA   UA    UA      UA     UV   UA   OK    OK     UV      UV    UV
Feed.Subscribe                OK  OK   OK    OK  OK  OK   OK   UA   UA   UA   UA    UA      UA     UV   UA   OK    OK     UV      UV    UV
Operator.ListCases            PD  PD   PD    PD  PD  PD   PD   PD   OK   OK   OK    PD      PD     UV   PD   PD    PD     UV      UV    UV
Operator.GetCase:plain        PD  PD   PD    PD  PD  PD   PD   PD   OK   PD   PD    PD      PD     UV   PD   PD    PD     UV      UV    UV
Operator.GetCase:to-preg      PD  PD   PD    PD  PD  PD   PD   PD   OK   OK   PD    PD      PD     UV   PD   PD    PD     UV      UV    UV
Operator.GetCase:to-bestr     PD  PD   PD    PD  PD  PD   PD   PD   OK   OK   OK    PD      PD     UV   PD   PD    PD     UV      UV    UV
Operator.Acknowledge          PD  PD   PD    PD  PD  PD   PD   PD   OK   PD   PD    PD      PD     UV   PD   PD    PD     UV      UV    UV
Operator.Reassign             PD  PD   PD    PD  PD  PD   PD   PD   OK   PD   PD    PD      PD     UV   PD   PD    PD     UV      UV    UV
Operator.Escalate             PD  PD   PD    PD  PD  PD   PD   PD   OK   PD   PD    PD      PD     UV   PD   PD    PD     UV      UV    UV
Operator.Close                PD  PD   PD    PD  PD  PD   PD   PD   OK   PD   PD    PD      PD     UV   PD   PD    PD     UV      UV    UV
Operator.VerifyAudit          PD  PD   PD    PD  PD  PD   PD   PD   OK   OK   OK    PD      PD     UV   PD   PD    PD     UV      UV    UV
Operator.WhoLooked            PD  PD   PD    PD  PD  PD   PD   PD   OK   PD   PD    PD      PD     UV   PD   PD    PD     UV      UV    UV
Resident.GetHousehold         PD  PD   PD    PD  PD  PD   PD   PD   PD   PD   PD    OK      PD     UV   PD   PD    PD     UV      UV    UV
Resident.ListAccess           PD  PD   PD    PD  PD  PD   PD   PD   PD   PD   PD    OK      PD     UV   PD   PD    PD     UV      UV    UV
Resident.RecordObjection      PD  PD   PD    PD  PD  PD   PD   PD   PD   PD   PD    OK      PD     UV   PD   PD    PD     UV      UV    UV
Resident.StatePreference      PD  PD   PD    PD  PD  PD   PD   PD   PD   PD   PD    OK      PD     UV   PD   PD    PD     UV      UV    UV
Resident.ClearPreference      PD  PD   PD    PD  PD  PD   PD   PD   PD   PD   PD    OK      PD     UV   PD   PD    PD     UV      UV    UV
Resident.ListStatuteNotices   PD  PD   PD    PD  PD  PD   PD   PD   PD   PD   PD    OK      PD     UV   PD   PD    PD     UV      UV    UV
Pseudonym.Evaluate            OK  OK   OK    OK  OK  OK   OK   PD   PD   PD   PD    PD      OK     UV   PD   OK    OK     UV      UV    UV
Pseudonym.GetKeyInfo          OK  OK   OK    OK  OK  OK   OK   OK   PD   PD   PD    PD      OK     UV   PD   OK    OK     UV      UV    UV
Pseudonym.GetRekeyFactor      PD  PD   PD    PD  PD  PD   PD   OK   PD   PD   PD    PD      PD     UV   PD   PD    PD     UV      UV    UV
Consent.Check:own             OK  OK   OK    OK  OK  OK   PD   OK   PD   PD   PD    PD      OK     UV   PD   OK    OK     UV      UV    UV
Consent.Check:other-kind      PD  PD   PD    PD  PD  PD   PD   OK   PD   PD   PD    PD      OK     UV   PD   PD    PD     UV      UV    UV
Consent.Grant                 PD  PD   PD    PD  PD  PD   PD   PD   PD   PD   PD    PD      OK     UV   PD   PD    PD     UV      UV    UV
Consent.Revoke                PD  PD   PD    PD  PD  PD   PD   PD   PD   PD   PD    PD      OK     UV   PD   PD    PD     UV      UV    UV
Consent.List                  PD  PD   PD    PD  PD  PD   PD   PD   PD   PD   PD    PD      OK     UV   PD   PD    PD     UV      UV    UV
Consent.Watch                 PD  PD   PD    PD  PD  PD   PD   OK   PD   PD   PD    PD      PD     UV   PD   PD    PD     UV      UV    UV
Node.SubmitSignal             UV  UV   UV    UV  UV  UV   UV   UV   UV   UV   UV    UV      UV     UA   UV   UV    UV     UV      UV    OK
Node.SubmitPopulationEvent    UV  UV   UV    UV  UV  UV   UV   UV   UV   UV   UV    UV      UV     UA   UV   UV    UV     UV      UV    PD
Node.WithdrawSignal           UV  UV   UV    UV  UV  UV   UV   UV   UV   UV   UV    UV      UV     UA   UV   UV    UV     UV      UV    OK
Node.GetSignalStatus          UV  UV   UV    UV  UV  UV   UV   UV   UV   UV   UV    UV      UV     UA   UV   UV    UV     UV      UV    OK
"""
#: Notes printed under the table.
NOTES = """\
- Residents: no certificate, no gRPC; everything a resident does goes through the portal
  (the `portal` column; towards the hub the portal uses the consent service's certificate).
- Node.SubmitPopulationEvent: the matrix's node is a school's; only a BRP node accepts them.
- stale/oldkey: the TLS certificate is the partner's identity; a key that is not (or no
  longer) valid only stops the statements it signs. Removing a partner is the `gone` column.
"""

CODES = {
    "OK": grpc.StatusCode.OK,
    "UA": grpc.StatusCode.UNAUTHENTICATED,
    "PD": grpc.StatusCode.PERMISSION_DENIED,
    "NF": grpc.StatusCode.NOT_FOUND,
    "UV": grpc.StatusCode.UNAVAILABLE,
}
#: Short names for answers no cell expects, so that a wrong cell stays readable.
OTHER_CODES = {
    "IA": grpc.StatusCode.INVALID_ARGUMENT,
    "FP": grpc.StatusCode.FAILED_PRECONDITION,
    "AE": grpc.StatusCode.ALREADY_EXISTS,
    "RE": grpc.StatusCode.RESOURCE_EXHAUSTED,
    "DE": grpc.StatusCode.DEADLINE_EXCEEDED,
    "IN": grpc.StatusCode.INTERNAL,
    "UK": grpc.StatusCode.UNKNOWN,
}
ABBREVIATION = {status: short for short, status in (CODES | OTHER_CODES).items()}


def parse_matrix(text: str) -> tuple[list[str], dict[str, dict[str, str]]]:
    """The column names and, per row, the expected outcome per column."""
    lines = [line.split() for line in text.strip().splitlines()]
    columns = lines[0][1:]
    rows: dict[str, dict[str, str]] = {}
    for cells in lines[1:]:
        assert len(cells) == len(columns) + 1, f"row {cells[0]}: one outcome per caller"
        assert cells[0] not in rows, f"row {cells[0]} twice"
        assert set(cells[1:]) <= set(CODES), f"row {cells[0]}: unknown outcome"
        rows[cells[0]] = dict(zip(columns, cells[1:], strict=True))
    return columns, rows


def render(
    columns: list[str], expected: dict[str, dict[str, str]], actual: dict[str, dict[str, str]]
) -> str:
    """The whole matrix; a cell that differs shows `expected>actual` and its row is marked."""
    width = max(len(r) for r in expected) + 2
    cells: dict[str, list[str]] = {}
    for row, wanted in expected.items():
        got = actual.get(row, {})
        cells[row] = [
            w if got.get(c) == w else f"{w}>{got.get(c, '??')}"
            for c, w in ((c, wanted[c]) for c in columns)
        ]
    widths = [max(len(c), *(len(cells[r][i]) for r in cells)) for i, c in enumerate(columns)]
    out = [
        "  "
        + "row".ljust(width)
        + " ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True))
    ]
    for row, line in cells.items():
        mark = "! " if any(">" in cell for cell in line) else "  "
        out.append(
            mark
            + row.ljust(width)
            + " ".join(c.ljust(w) for c, w in zip(line, widths, strict=True))
        )
    legend = ", ".join(f"{k} {v.name}" for k, v in (CODES | OTHER_CODES).items())
    return "\n".join([*out, "", f"expected>actual where they differ; {legend}", NOTES])


# --- callers --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Caller:
    """One column: how it connects, and whose identity and resources its requests use."""

    name: str
    #: "tls": mutual TLS with `tls`; "anon": TLS (or, to the node, plaintext) without a client
    #: certificate or token; "local": plaintext with the node's bearer token.
    mode: str
    tls: TlsFiles | None
    #: The partner whose id, kind and resources the requests name.
    partner: PartnerSpec
    #: Signs statements in `partner`'s name (with its own key, or one the hub does not accept).
    sealer: Sealer
    #: The partner id it names in a consent check: a partner's own, the partner it acts on, or
    #: (for certificates that are no partner's) the name on its certificate, as if it were one.
    claims: str


@dataclass
class World:
    layout: Layout
    launcher: Launcher
    runs: dict[str, Running]
    callers: dict[str, Caller]
    token: str
    ca: Path
    #: Per column: the signal the Withdraw row withdraws.
    withdrawable: dict[str, bytes] = field(default_factory=dict)
    #: A signal of ggd's no test withdraws; other callers aim at it.
    victim_signal: bytes = b""
    #: Per partner id: the consent receipt for PERSON (consent-based partners only).
    receipts: dict[str, consent_pb2.SignedConsentReceipt] = field(default_factory=dict)
    cases: dict[str, str] = field(default_factory=dict)
    reassign_to: str = ""
    objection_signal: bytes = b""
    revocable_entry: bytes = b""
    node_signals: dict[str, bytes] = field(default_factory=dict)
    channels: dict[tuple[str, str], grpc.Channel] = field(default_factory=dict)

    def channel(self, caller: Caller, service: str) -> grpc.Channel:
        key = (caller.name, service)
        if key not in self.channels:
            address = self.runs[service].address
            plaintext = caller.mode == "local" or (caller.mode == "anon" and service == "node")
            if plaintext:
                self.channels[key] = grpc.insecure_channel(address)
            else:
                root = self.ca.read_bytes()
                if caller.tls is None:
                    creds = grpc.ssl_channel_credentials(root_certificates=root)
                else:
                    creds = grpc.ssl_channel_credentials(
                        root_certificates=root,
                        private_key=caller.tls.key.read_bytes(),
                        certificate_chain=caller.tls.cert.read_bytes(),
                    )
                # The node has no certificate of its own; any name will do for it.
                name = "hub" if service == "node" else service
                self.channels[key] = grpc.secure_channel(
                    address, creds, options=[("grpc.ssl_target_name_override", name)]
                )
        return self.channels[key]

    def metadata(self, caller: Caller, service: str) -> tuple[tuple[str, str | bytes], ...]:
        if service == "node" and caller.mode == "local":
            return (("authorization", f"Bearer {self.token}"),)
        return ()


# --- payloads -------------------------------------------------------------------------------

#: The person the consent-based signals, consent rows and resident rows are about.
PERSON = os.urandom(32)
#: A child the school signals about (statute-based), who objects through the portal.
PUPIL = os.urandom(32)


def _today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def _signal(
    signal_type: vocabulary_pb2.SignalType.ValueType,
    domain: vocabulary_pb2.LifeDomain.ValueType,
    basis: vocabulary_pb2.LegalBasis.ValueType,
    *,
    person: bytes | None = None,
    urgent: bool = False,
) -> signal_pb2.Signal:
    day = _today()
    out = signal_pb2.Signal(
        signal_type=signal_type,
        life_domain=domain,
        urgency=vocabulary_pb2.URGENCY_HOOG if urgent else vocabulary_pb2.URGENCY_NORMAAL,
        legal_basis=basis,
        observed_on=date_to_proto(day),
        keep_until=date_to_proto(day + dt.timedelta(days=90)),
        subject=signal_pb2.Subject(address_pseudonym=os.urandom(32), key_version=1),
    )
    if person is not None:
        out.subject.person_pseudonym = person
    return out


def arrears(*, urgent: bool = False) -> signal_pb2.Signal:
    out = _signal(
        vocabulary_pb2.SIGNAL_TYPE_HUURACHTERSTAND,
        vocabulary_pb2.LIFE_DOMAIN_RONDKOMEN,
        vocabulary_pb2.LEGAL_BASIS_WGS_VROEGSIGNALERING,
        urgent=urgent,
    )
    out.arrears.CopyFrom(
        signal_pb2.Arrears(
            amount_cents=90_000,
            months_in_arrears=2,
            contact_attempted=True,
            written_reminder_sent=True,
        )
    )
    return out


def residence() -> signal_pb2.PopulationEvent:
    return signal_pb2.PopulationEvent(
        key_version=1,
        residence=signal_pb2.Residence(
            person_pseudonym=os.urandom(32),
            address_pseudonym=os.urandom(32),
            since=date_to_proto(_today()),
        ),
    )


def own_kind(world: World, partner: PartnerSpec) -> signal_pb2.Signal | signal_pb2.PopulationEvent:
    """A message this kind of partner may send: what its node would send."""
    if partner.type is PartnerType.BRP:
        return residence()
    if partner.type is PartnerType.WONINGCORPORATIE:
        return arrears()
    if partner.type is PartnerType.SCHOOL:
        return _signal(
            vocabulary_pb2.SIGNAL_TYPE_SCHOOLVERZUIM,
            vocabulary_pb2.LIFE_DOMAIN_LEREN,
            vocabulary_pb2.LEGAL_BASIS_JEUGDWET_VERWIJSINDEX,
            person=PUPIL,
        )
    out = _signal(
        CONSENTED[partner.type],
        vocabulary_pb2.LIFE_DOMAIN_ZORGEN,
        vocabulary_pb2.LEGAL_BASIS_TOESTEMMING,
        person=PERSON,
    )
    out.consent_receipt.CopyFrom(world.receipts[partner.id])
    return out


def envelope(
    caller: Caller, payload: signal_pb2.Signal | signal_pb2.PopulationEvent
) -> envelope_pb2.SealedEnvelope:
    statement = envelope_pb2.Statement(id=os.urandom(16))
    statement.signed_at.FromDatetime(dt.datetime.now(dt.UTC))
    if isinstance(payload, signal_pb2.PopulationEvent):
        statement.population_event.CopyFrom(payload)
    else:
        statement.signal.CopyFrom(payload)
    return caller.sealer.seal(statement)


def person(value: bytes = PERSON) -> consent_pb2.ConsentPerson:
    return consent_pb2.ConsentPerson(pseudonym=value, key_version=1)


def check_request(caller: Caller, kind: PartnerType) -> consent_pb2.CheckRequest:
    """A consent check for the partner the caller claims to be, as a partner of `kind`."""
    return consent_pb2.CheckRequest(
        subject=person(),
        partner_id=caller.claims,
        partner_type=vocabulary_pb2.PartnerType.Value(f"PARTNER_TYPE_{kind.value}"),
        life_domain=vocabulary_pb2.LIFE_DOMAIN_ZORGEN,
        purpose=consent_pb2.PURPOSE_SIGNALERING,
    )


def other_kind(caller: Caller) -> PartnerType:
    return PartnerType.GGD if caller.partner.type is PartnerType.HUISARTS else PartnerType.HUISARTS


RESIDENT = Actor(Pseudonym(PERSON, 1), 40)


def grant(subject: bytes, kind: PartnerType, *, decision: Decision = Decision.PERMIT) -> Any:
    who = Pseudonym(subject, 1)
    request = GrantRequest(
        Cell(who, Source.category(kind), LifeDomain.ZORGEN, Purpose.SIGNALERING), decision
    )
    return consent_serde.grant_to_proto(Actor(who, 40), request)


# --- the rows: what each RPC is asked, per caller ---------------------------------------------

Build = Callable[[World, Caller], Message]


def _stream_code(response: Message) -> grpc.StatusCode:
    assert isinstance(response, intake_pb2.SubmitStreamResponse)
    (result,) = response.results
    return grpc.StatusCode.OK if result.code == 0 else _by_number(result.code)


def _by_number(number: int) -> grpc.StatusCode:
    return next(s for s in grpc.StatusCode if s.value[0] == number)


@dataclass(frozen=True)
class Row:
    service: str  # which process answers: hub, pseudonym, consent or node
    method: str  # the full gRPC method name
    build: Build
    #: For SubmitStream: the per-envelope status inside an OK response.
    inner: Callable[[Message], grpc.StatusCode] | None = None


def case(world: World, caller: Caller, action: str) -> str:
    """The operator acts on a case kept for the action; everyone else on the case nobody
    escalated (so an operator's escalation does not hand a later column its case)."""
    return world.cases[action if caller.name == "oper" else "plain"]


ROWS: dict[str, Row] = {
    "Intake.Submit:own-kind": Row(
        "hub",
        "/seinhuis.v1.IntakeService/Submit",
        lambda w, c: intake_pb2.SubmitRequest(envelope=envelope(c, own_kind(w, c.partner))),
    ),
    "Intake.Submit:arrears": Row(
        "hub",
        "/seinhuis.v1.IntakeService/Submit",
        lambda w, c: intake_pb2.SubmitRequest(envelope=envelope(c, arrears())),
    ),
    "Intake.Submit:population": Row(
        "hub",
        "/seinhuis.v1.IntakeService/Submit",
        lambda w, c: intake_pb2.SubmitRequest(envelope=envelope(c, residence())),
    ),
    "Intake.SubmitStream:own-kind": Row(
        "hub",
        "/seinhuis.v1.IntakeService/SubmitStream",
        lambda w, c: intake_pb2.SubmitStreamRequest(
            envelopes=[envelope(c, own_kind(w, c.partner))]
        ),
        inner=_stream_code,
    ),
    "Intake.Withdraw:own-signal": Row(
        "hub",
        "/seinhuis.v1.IntakeService/Withdraw",
        lambda w, c: intake_pb2.WithdrawRequest(
            id=w.withdrawable.get(c.name, w.victim_signal),
            reason=vocabulary_pb2.WITHDRAW_REASON_UNJUSTIFIED,
        ),
    ),
    "Feed.Subscribe": Row(
        "hub",
        "/seinhuis.v1.PartnerFeedService/Subscribe",
        lambda w, c: feed_pb2.SubscribeRequest(after_cursor=0),
    ),
    "Operator.ListCases": Row(
        "hub",
        "/seinhuis.v1.OperatorService/ListCases",
        lambda w, c: operator_pb2.ListCasesRequest(),
    ),
    "Operator.GetCase:plain": Row(
        "hub",
        "/seinhuis.v1.OperatorService/GetCase",
        lambda w, c: operator_pb2.GetCaseRequest(case_ref=w.cases["plain"]),
    ),
    "Operator.GetCase:to-preg": Row(
        "hub",
        "/seinhuis.v1.OperatorService/GetCase",
        lambda w, c: operator_pb2.GetCaseRequest(case_ref=w.cases["to-preg"]),
    ),
    "Operator.GetCase:to-bestr": Row(
        "hub",
        "/seinhuis.v1.OperatorService/GetCase",
        lambda w, c: operator_pb2.GetCaseRequest(case_ref=w.cases["to-bestr"]),
    ),
    "Operator.Acknowledge": Row(
        "hub",
        "/seinhuis.v1.OperatorService/Acknowledge",
        lambda w, c: operator_pb2.AcknowledgeRequest(case_ref=case(w, c, "ack")),
    ),
    "Operator.Reassign": Row(
        "hub",
        "/seinhuis.v1.OperatorService/Reassign",
        lambda w, c: operator_pb2.ReassignRequest(
            case_ref=case(w, c, "reassign"), partner_id=w.reassign_to
        ),
    ),
    "Operator.Escalate": Row(
        "hub",
        "/seinhuis.v1.OperatorService/Escalate",
        lambda w, c: operator_pb2.EscalateRequest(case_ref=case(w, c, "escalate")),
    ),
    "Operator.Close": Row(
        "hub",
        "/seinhuis.v1.OperatorService/Close",
        lambda w, c: operator_pb2.CloseRequest(
            case_ref=case(w, c, "close"), outcome=feed_pb2.CASE_OUTCOME_HELPED
        ),
    ),
    "Operator.VerifyAudit": Row(
        "hub",
        "/seinhuis.v1.OperatorService/VerifyAudit",
        lambda w, c: operator_pb2.VerifyAuditRequest(),
    ),
    "Operator.WhoLooked": Row(
        "hub",
        "/seinhuis.v1.OperatorService/WhoLooked",
        lambda w, c: operator_pb2.WhoLookedRequest(person_pseudonym=PERSON),
    ),
    "Resident.GetHousehold": Row(
        "hub",
        "/seinhuis.v1.ResidentService/GetHousehold",
        lambda w, c: resident_pb2.GetHouseholdRequest(people=[person(PUPIL)]),
    ),
    "Resident.ListAccess": Row(
        "hub",
        "/seinhuis.v1.ResidentService/ListAccess",
        lambda w, c: resident_pb2.ListAccessRequest(people=[person(PUPIL)]),
    ),
    "Resident.RecordObjection": Row(
        "hub",
        "/seinhuis.v1.ResidentService/RecordObjection",
        lambda w, c: resident_pb2.RecordObjectionRequest(
            objection_id=os.urandom(16),
            signal_id=w.objection_signal,
            subject=person(PUPIL),
            made_by=consent_pb2.CONSENT_PARTY_SUBJECT,
            reason=resident_pb2.OBJECTION_REASON_NO_SHARING,
        ),
    ),
    "Resident.StatePreference": Row(
        "hub",
        "/seinhuis.v1.ResidentService/StatePreference",
        lambda w, c: resident_pb2.StatePreferenceRequest(
            person=person(), choice=resident_pb2.REGIEHOUDER_CHOICE_SOCIAAL_TEAM
        ),
    ),
    "Resident.ClearPreference": Row(
        "hub",
        "/seinhuis.v1.ResidentService/ClearPreference",
        lambda w, c: resident_pb2.ClearPreferenceRequest(person=person()),
    ),
    "Resident.ListStatuteNotices": Row(
        "hub",
        "/seinhuis.v1.ResidentService/ListStatuteNotices",
        lambda w, c: resident_pb2.ListStatuteNoticesRequest(limit=10),
    ),
    "Pseudonym.Evaluate": Row(
        "pseudonym",
        "/seinhuis.v1.PseudonymService/Evaluate",
        lambda w, c: pseudonym_pb2.EvaluateRequest(
            kind=vocabulary_pb2.IDENTIFIER_KIND_PERSON,
            blinded_elements=[oprf.blind(f"bsn:{BSN}".encode()).element],
        ),
    ),
    "Pseudonym.GetKeyInfo": Row(
        "pseudonym",
        "/seinhuis.v1.PseudonymService/GetKeyInfo",
        lambda w, c: pseudonym_pb2.GetKeyInfoRequest(),
    ),
    "Pseudonym.GetRekeyFactor": Row(
        "pseudonym",
        "/seinhuis.v1.PseudonymService/GetRekeyFactor",
        lambda w, c: pseudonym_pb2.GetRekeyFactorRequest(
            kind=vocabulary_pb2.IDENTIFIER_KIND_PERSON, from_version=1, to_version=1
        ),
    ),
    "Consent.Check:own": Row(
        "consent",
        "/seinhuis.v1.ConsentService/Check",
        lambda w, c: check_request(c, c.partner.type),
    ),
    "Consent.Check:other-kind": Row(
        "consent",
        "/seinhuis.v1.ConsentService/Check",
        lambda w, c: check_request(c, other_kind(c)),
    ),
    "Consent.Grant": Row(
        "consent",
        "/seinhuis.v1.ConsentService/Grant",
        lambda w, c: grant(os.urandom(32), PartnerType.GGD),
    ),
    "Consent.Revoke": Row(
        "consent",
        "/seinhuis.v1.ConsentService/Revoke",
        lambda w, c: consent_pb2.RevokeRequest(
            actor=consent_serde.actor_to_proto(RESIDENT), entry_id=w.revocable_entry
        ),
    ),
    "Consent.List": Row(
        "consent",
        "/seinhuis.v1.ConsentService/List",
        lambda w, c: consent_pb2.ListRequest(
            actor=consent_serde.actor_to_proto(RESIDENT), subject=person()
        ),
    ),
    "Consent.Watch": Row(
        "consent",
        "/seinhuis.v1.ConsentService/Watch",
        lambda w, c: consent_pb2.WatchRequest(after_cursor=0),
    ),
    "Node.SubmitSignal": Row(
        "node",
        "/seinhuis.v1.NodeService/SubmitSignal",
        lambda w, c: local_school_signal(),
    ),
    "Node.SubmitPopulationEvent": Row(
        "node",
        "/seinhuis.v1.NodeService/SubmitPopulationEvent",
        lambda w, c: node_pb2.SubmitPopulationEventRequest(
            residence=node_pb2.LocalResidence(
                person=node_pb2.LocalPerson(
                    bsn=BSN, birth_date=vocabulary_pb2.Date(year=1990, month=2, day=3)
                ),
                address=node_pb2.LocalAddress(postcode="3511AB", house_number=7),
                since=date_to_proto(_today()),
            )
        ),
    ),
    "Node.WithdrawSignal": Row(
        "node",
        "/seinhuis.v1.NodeService/WithdrawSignal",
        lambda w, c: node_pb2.WithdrawSignalRequest(
            id=w.node_signals["withdraw"], reason=vocabulary_pb2.WITHDRAW_REASON_UNJUSTIFIED
        ),
    ),
    "Node.GetSignalStatus": Row(
        "node",
        "/seinhuis.v1.NodeService/GetSignalStatus",
        lambda w, c: node_pb2.GetSignalStatusRequest(id=w.node_signals["status"]),
    ),
}

#: Every gRPC service a Seinhuis process serves (health and reflection aside).
SERVED_BY = {
    "seinhuis.v1.IntakeService": "hub",
    "seinhuis.v1.PartnerFeedService": "hub",
    "seinhuis.v1.OperatorService": "hub",
    "seinhuis.v1.ResidentService": "hub",
    "seinhuis.v1.PseudonymService": "pseudonym",
    "seinhuis.v1.ConsentService": "consent",
    "seinhuis.v1.NodeService": "node",
}
_MODULES = (consent_pb2, feed_pb2, intake_pb2, node_pb2, operator_pb2, pseudonym_pb2, resident_pb2)


def _method(full: str) -> MethodDescriptor:
    service, _, name = full.strip("/").partition("/")
    for module in _MODULES:
        found = module.DESCRIPTOR.services_by_name.get(service.rpartition(".")[2])
        if found is not None and found.full_name == service:
            method: MethodDescriptor = found.methods_by_name[name]
            return method
    raise KeyError(full)


def local_school_signal() -> node_pb2.SubmitSignalRequest:
    return node_pb2.SubmitSignalRequest(
        signal_type=vocabulary_pb2.SIGNAL_TYPE_SCHOOLVERZUIM,
        urgency=vocabulary_pb2.URGENCY_NORMAAL,
        subject=node_pb2.LocalSubject(
            bsn=BSN,
            birth_date=vocabulary_pb2.Date(year=2013, month=4, day=9),
            postcode="3511AB",
            house_number=7,
        ),
    )


def call(world: World, row: Row, caller: Caller) -> str:
    """Make one call; its outcome as a matrix code (the status name when not in the legend)."""
    method = _method(row.method)
    response_type = message_factory.GetMessageClass(method.output_type)
    channel = world.channel(caller, row.service)
    metadata = world.metadata(caller, row.service)
    request = row.build(world, caller)
    serialize = type(request).SerializeToString
    try:
        if method.server_streaming:
            stream = channel.unary_stream(
                row.method,
                request_serializer=serialize,
                response_deserializer=response_type.FromString,
            )(request, timeout=STREAM_WAIT_S, metadata=metadata)
            try:
                next(stream)
            except grpc.RpcError as exc:
                # Still open when the wait ran out: the service accepted the caller.
                if exc.code() is not grpc.StatusCode.DEADLINE_EXCEEDED:
                    raise
            finally:
                stream.cancel()
            status = grpc.StatusCode.OK
        elif method.client_streaming:
            response = channel.stream_unary(
                row.method,
                request_serializer=serialize,
                response_deserializer=response_type.FromString,
            )(iter([request]), timeout=CALL_TIMEOUT_S, metadata=metadata)
            status = row.inner(response) if row.inner else grpc.StatusCode.OK
        else:
            response = channel.unary_unary(
                row.method,
                request_serializer=serialize,
                response_deserializer=response_type.FromString,
            )(request, timeout=CALL_TIMEOUT_S, metadata=metadata)
            status = row.inner(response) if row.inner else grpc.StatusCode.OK
    except grpc.RpcError as exc:
        status = exc.code()
    return ABBREVIATION.get(status, status.name)


# --- building the network ---------------------------------------------------------------------


def _tls(root: Path, folder: Path) -> TlsFiles:
    return TlsFiles(root / "ca" / "ca.crt", folder / "tls.crt", folder / "tls.key")


def _sealer(layout: Layout, partner_id: str, key: SigningKey) -> Sealer:
    return Sealer(
        partner_id=partner_id,
        signing_key=key,
        hub_id="hub",
        hub_public=load_sealing_public(layout.hub_dir / "sealing.pub"),
    )


def _expired_key(layout: Layout) -> SigningKey:
    """A second key of ggd's in the hub's registry, valid until yesterday."""
    key = SigningKey.generate()
    verify = bytes(key.verify_key)
    path = layout.hub_dir / "partners.yaml"
    data: dict[str, Any] = yaml.safe_load(path.read_text())
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    for p in data["partners"]:
        if p["id"] == GGD.id:
            p["keys"].append(
                {
                    "key_id": key_id(verify).hex(),
                    "verify_key": verify.hex(),
                    "valid_from": (now - dt.timedelta(days=400)).isoformat(),
                    "valid_until": (now - dt.timedelta(days=1)).isoformat(),
                }
            )
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return key


def _callers(layout: Layout, old_key: SigningKey) -> dict[str, Caller]:
    root = layout.root
    ca = DevCA.load(root / "ca")
    now = dt.datetime.now(dt.UTC)

    def own(name: str, spec: PartnerSpec) -> Caller:
        folder = layout.node_dir(spec.id)
        key = load_signing_key(folder / "signing.key")
        return Caller(name, "tls", _tls(root, folder), spec, _sealer(layout, spec.id, key), spec.id)

    def foreign(name: str, tls: TlsFiles | None, claims: str, *, mode: str = "tls") -> Caller:
        """A caller on ggd's resources; its statements claim ggd with a key the hub lacks."""
        return Caller(name, mode, tls, GGD, _sealer(layout, GGD.id, SigningKey.generate()), claims)

    extra = root / "matrix-certs"
    gone = ca.issue(extra / "gone", GONE_CN)
    expired = ca.issue(
        extra / "expired",
        GGD.id,
        valid_from=now - dt.timedelta(days=30),
        valid_until=now - dt.timedelta(days=1),
    )
    alien = DevCA.create(extra / "alien-ca", name="Another CA").issue(extra / "alien", GGD.id)
    ggd_b_key = load_signing_key(layout.node_dir(OTHER.id) / "signing.key")
    callers = [
        own("ggd", GGD),
        own("woco", WOCO),
        own("school", SCHOOL),
        own("gp", GP),
        own("brp", BRP),
        own("team", TEAM),
        # ggd-b, signing with its own key in ggd-a's name and aiming at ggd-a's resources.
        Caller(
            "other",
            "tls",
            _tls(root, layout.node_dir(OTHER.id)),
            GGD,
            _sealer(layout, GGD.id, ggd_b_key),
            GGD.id,
        ),
        foreign("hub", _tls(root, layout.hub_dir), GGD.id),
        foreign("oper", _tls(root, layout.staff_dir("operator")), "operator.staff"),
        foreign("preg", _tls(root, layout.staff_dir("procesregisseur")), "procesregisseur.staff"),
        foreign("bestr", _tls(root, layout.staff_dir("bestuurder")), "bestuurder.staff"),
        foreign("consent", _tls(root, layout.consent_dir), "consent"),
        foreign("portal", _tls(root, layout.consent_dir / "portal"), GGD.id),
        foreign("anon", None, GGD.id, mode="anon"),
        foreign("gone", gone, GONE_CN),
        # ggd's own certificate, signing with a key the registry never held, or one that ran out.
        replace(own("stale", GGD), sealer=_sealer(layout, GGD.id, SigningKey.generate())),
        replace(own("oldkey", GGD), sealer=_sealer(layout, GGD.id, old_key)),
        foreign("expired", expired, GGD.id),
        foreign("alien", alien, GGD.id),
        foreign("local", None, GGD.id, mode="local"),
    ]
    return {c.name: c for c in callers}


def _start(root: Path) -> World:
    layout = Layout(root)
    layout.create(PARTNERS)
    add_staff(root, "bestuurder", "BESTUURDER")
    layout.create_consent()
    old_key = _expired_key(layout)
    token = secrets.token_hex(24)
    launcher = Launcher(layout)
    runs: dict[str, Running] = {}
    try:
        runs["pseudonym"] = launcher.start(
            "pseudonym", "pseudonym", layout.pseudonym_dir / "pseudonym.toml"
        )
        layout.connect_hub_to_pseudonym(runs["pseudonym"].port)
        runs["hub"] = launcher.start("hub", "hub", layout.hub_dir / "hub.toml")
        consent_config = layout.write_consent_config(
            pseudonym_port=runs["pseudonym"].port,
            hub_port=runs["hub"].port,
            # No resident logs in here: the provider is never asked.
            issuer="https://127.0.0.1:9",
        )
        runs["consent"] = launcher.start("consent", "consent", consent_config)
        node_config = layout.write_node_config(
            SCHOOL,
            hub_port=runs["hub"].port,
            pseudonym_port=runs["pseudonym"].port,
            consent_port=runs["consent"].port,
        )
        (node_config.parent / "local.token").write_text(token)
        node_config.write_text(
            re.sub(
                r'(?m)^listen = "127\.0\.0\.1:0"$',
                'listen = "127.0.0.1:0"\nlocal_token_file = "local.token"',
                node_config.read_text(),
                count=1,
            )
        )
        runs["node"] = launcher.start(SCHOOL.id, "node", node_config)
    except BaseException:
        launcher.stop_all()
        raise
    return World(layout, launcher, runs, _callers(layout, old_key), token, root / "ca" / "ca.crt")


def _unary(world: World, caller: Caller, service: str, method: str, request: Message) -> Any:
    """A setup call that must succeed; its response."""
    response_type = message_factory.GetMessageClass(_method(method).output_type)
    stub = world.channel(caller, service).unary_unary(
        method,
        request_serializer=type(request).SerializeToString,
        response_deserializer=response_type.FromString,
    )
    return stub(request, timeout=CALL_TIMEOUT_S, metadata=world.metadata(caller, service))


def _submit(world: World, caller: Caller, payload: Any) -> bytes:
    request = intake_pb2.SubmitRequest(envelope=envelope(caller, payload))
    return bytes(_unary(world, caller, "hub", "/seinhuis.v1.IntakeService/Submit", request).id)


def _wait_for(what: str, condition: Callable[[], bool], timeout: float = 180.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def _prepare(world: World) -> None:
    """What the intended callers need to exist: consent, receipts, signals, cases."""
    by = world.callers
    consent = "/seinhuis.v1.ConsentService/"
    # The resident's consent for the consent-based kinds, given through the portal.
    for kind in CONSENTED:
        _unary(world, by["portal"], "consent", consent + "Grant", grant(PERSON, kind))
    objection = grant(PERSON, PartnerType.WELZIJN, decision=Decision.DENY)
    entry = _unary(world, by["portal"], "consent", consent + "Grant", objection).entry
    world.revocable_entry = bytes(entry.entry_id)
    ggd_b = world.layout.node_dir(OTHER.id)
    other_itself = replace(
        by["other"],
        partner=OTHER,
        claims=OTHER.id,
        sealer=_sealer(world.layout, OTHER.id, load_signing_key(ggd_b / "signing.key")),
    )
    for caller in (by["ggd"], by["gp"], by["team"], other_itself):
        check = check_request(caller, caller.partner.type)
        answer = _unary(world, caller, "consent", consent + "Check", check)
        assert answer.decision == consent_pb2.CONSENT_DECISION_PERMIT
        world.receipts[caller.partner.id] = answer.signed_receipt

    # Per column with a partner's certificate: a signal for the Withdraw row, and one withdrawn
    # now, so that the partner's feed holds a notification for the Subscribe row.
    withdraw = "/seinhuis.v1.IntakeService/Withdraw"
    for name in ("ggd", "woco", "school", "gp", "team", "stale", "oldkey", "other"):
        signer = {"stale": by["ggd"], "oldkey": by["ggd"], "other": other_itself}.get(
            name, by[name]
        )
        gone = _submit(world, signer, own_kind(world, signer.partner))
        resolved = vocabulary_pb2.WITHDRAW_REASON_RESOLVED
        _unary(world, signer, "hub", withdraw, intake_pb2.WithdrawRequest(id=gone, reason=resolved))
        if name != "other":
            world.withdrawable[name] = _submit(world, signer, own_kind(world, signer.partner))
    world.victim_signal = _submit(world, by["ggd"], own_kind(world, GGD))
    world.objection_signal = _submit(world, by["school"], own_kind(world, SCHOOL))

    # A household each with an urgent signal: a case each.
    for _ in CASES:
        _submit(world, by["woco"], arrears(urgent=True))
    operator = "/seinhuis.v1.OperatorService/"
    found: list[str] = []

    def listed() -> bool:
        answer = _unary(
            world, by["oper"], "hub", operator + "ListCases", operator_pb2.ListCasesRequest()
        )
        found[:] = sorted(c.case_ref for c in answer.cases)
        return len(found) >= len(CASES)

    _wait_for(f"{len(CASES)} cases at the hub", listed)
    world.cases = dict(zip(CASES, found, strict=False))
    for name, times in (("to-preg", 1), ("to-bestr", 2)):
        for _ in range(times):
            request = operator_pb2.EscalateRequest(case_ref=world.cases[name])
            _unary(world, by["oper"], "hub", operator + "Escalate", request)
    get = operator_pb2.GetCaseRequest(case_ref=world.cases["reassign"])
    detail = _unary(world, by["oper"], "hub", operator + "GetCase", get).case_detail
    world.reassign_to = TEAM.id if detail.regiehouder_id != TEAM.id else WOCO.id

    # Two signals at the node's local API: one to withdraw, one to ask about.
    for name in ("withdraw", "status"):
        answer = _unary(
            world,
            by["local"],
            "node",
            "/seinhuis.v1.NodeService/SubmitSignal",
            local_school_signal(),
        )
        world.node_signals[name] = bytes(answer.id)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    world = _start(tmp_path_factory.mktemp("authz"))
    try:
        _prepare(world)
        yield world
    finally:
        for channel in world.channels.values():
            channel.close()
        world.launcher.stop_all()


# --- the tests ------------------------------------------------------------------------------


def test_the_matrix_covers_every_rpc_of_every_service() -> None:
    """Each method of each service in the wire contract has a row (or more)."""
    _, expected = parse_matrix(MATRIX)
    assert set(expected) == set(ROWS)
    served = {ROWS[r].method for r in ROWS}
    for module in _MODULES:
        for service in module.DESCRIPTOR.services_by_name.values():
            assert service.full_name in SERVED_BY, f"{service.full_name} has no place in the matrix"
            for method in service.methods:
                full = f"/{service.full_name}/{method.name}"
                assert full in served, f"{full} has no row in the matrix"
    for name, row in ROWS.items():
        service = row.method.strip("/").partition("/")[0]
        assert SERVED_BY[service] == row.service, name


def test_every_caller_gets_exactly_what_the_matrix_says(world: World) -> None:
    """Only the intended cells succeed; every other call is refused with the intended status."""
    columns, expected = parse_matrix(MATRIX)
    assert columns == list(world.callers)
    actual = {
        name: {c: call(world, row, world.callers[c]) for c in columns} for name, row in ROWS.items()
    }
    wrong = [(r, c) for r in expected for c in columns if expected[r][c] != actual[r][c]]
    assert not wrong, f"{len(wrong)} cells differ:\n" + render(columns, expected, actual)
