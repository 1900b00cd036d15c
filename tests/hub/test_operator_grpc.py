"""The operator interface over a real hub with mutual TLS: each RPC as staff use it, who may see
and do what, what partners learn of staff actions, and the audit trail they leave.

Two households: a landlord and a GP signal about the first (a case for the landlord, the GP
hidden); a school and the GGD signal about two members of the second (multi-complex: it lies
with the procesregisseur at once).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import pytest
import yaml

from hub import config as config_module
from hub.wiring import HubService, build
from seinhuis import transport
from seinhuis.crypto.keys import generate_sealing_key, load_sealing_key
from seinhuis.serde import date_to_proto
from seinhuis.transport import TlsFiles
from seinhuis.v1 import (
    feed_pb2,
    feed_pb2_grpc,
    intake_pb2,
    intake_pb2_grpc,
    operator_pb2,
    operator_pb2_grpc,
    signal_pb2,
    vocabulary_pb2,
)
from seinhuis.vocabulary import PartnerType
from tests.hub.builders import PartnerKeys, partner_keys, pseudonym, seal

V = vocabulary_pb2
F = feed_pb2
O = operator_pb2  # noqa: E741

#: id -> (type, contact point, capacity if it may coordinate)
PARTNERS: dict[str, tuple[PartnerType, str, int | None]] = {
    "team-noord": (PartnerType.SOCIAAL_TEAM, "Sociaal team Noord, 0800-1234", 50),
    "school-a": (PartnerType.SCHOOL, "School De Linde, zorgcoordinator", 1),
    "ggd-a": (PartnerType.GGD, "GGD meldpunt", 10),
    "woco-a": (PartnerType.WONINGCORPORATIE, "Woonstede, team incasso", 10),
    "huisarts-a": (PartnerType.HUISARTS, "Huisartsenpraktijk Oost", None),
}
STAFF = {"anna": "OPERATOR", "piet": "PROCESREGISSEUR", "bea": "BESTUURDER"}


@dataclass
class Desk:
    """A hub with two cases, and channels for partners and staff."""

    service: HubService
    port: int
    tls: dict[str, TlsFiles]
    keys: dict[str, PartnerKeys]
    pseudonyms: dict[str, bytes]
    refs: dict[str, str] = field(default_factory=dict)
    _channels: list[grpc.Channel] = field(default_factory=list)

    def channel(self, who: str) -> grpc.Channel:
        ch = transport.secure_channel(f"127.0.0.1:{self.port}", self.tls[who], server_name="hub")
        self._channels.append(ch)
        return ch

    def operator(self, who: str) -> operator_pb2_grpc.OperatorServiceStub:
        return operator_pb2_grpc.OperatorServiceStub(self.channel(who))

    def feed(self, partner: str) -> list[F.SubscribeResponse]:
        """The partner's feed as its node reads it, up to what the hub holds for it now."""
        expected = len(self.service.store.notifications_after(partner, 0))
        stub = feed_pb2_grpc.PartnerFeedServiceStub(self.channel(partner))
        out: list[F.SubscribeResponse] = []
        if expected == 0:
            return out
        stream = stub.Subscribe(F.SubscribeRequest(after_cursor=0), timeout=30)
        for response in stream:
            out.append(response)
            if len(out) == expected:
                stream.cancel()
                break
        return out

    def last_case_message(self, partner: str) -> tuple[str, Any]:
        which, msg = None, None
        for r in self.feed(partner):
            kind = r.WhichOneof("notification")
            if kind in ("case_notice", "regiehouder_briefing"):
                which, msg = kind, getattr(r, kind)
        assert which is not None, f"{partner} heard nothing"
        return which, msg

    def close(self) -> None:
        for ch in self._channels:
            ch.close()


def _signal(
    signal_type: V.SignalType.ValueType,
    domain: V.LifeDomain.ValueType,
    basis: V.LegalBasis.ValueType,
    address: bytes,
    person: bytes | None,
    arrears: bool = False,
) -> signal_pb2.Signal:
    day = dt.datetime.now(dt.UTC).date()
    return signal_pb2.Signal(
        signal_type=signal_type,
        life_domain=domain,
        urgency=V.URGENCY_NORMAAL,
        legal_basis=basis,
        observed_on=date_to_proto(day),
        keep_until=date_to_proto(day + dt.timedelta(days=90)),
        subject=signal_pb2.Subject(
            person_pseudonym=person or b"", address_pseudonym=address, key_version=1
        ),
        arrears=signal_pb2.Arrears(
            amount_cents=90_000,
            months_in_arrears=2,
            contact_attempted=True,
            written_reminder_sent=True,
        )
        if arrears
        else None,
    )


@pytest.fixture
def desk(tmp_path: Path, issue_tls: Callable[..., TlsFiles]) -> Iterator[Desk]:
    keys = {pid: partner_keys(pid, ptype) for pid, (ptype, _, _) in PARTNERS.items()}
    tls = {pid: issue_tls(pid) for pid in PARTNERS}
    tls |= {name: issue_tls(f"{name}.staff") for name in STAFF}
    tls["stranger"] = issue_tls("stranger")
    hub_tls = issue_tls("hub", server=True)
    registry: dict[str, Any] = {"hub_id": "hub", "partners": []}
    for pid, (_, contact, capacity) in PARTNERS.items():
        entry = keys[pid].registry_entry() | {"contact_point": contact}
        if capacity is not None:
            entry |= {"can_coordinate": True, "capacity": capacity}
        registry["partners"].append(entry)
    (tmp_path / "partners.yaml").write_text(yaml.safe_dump(registry))
    staff = [{"id": n, "role": role, "certificate_cn": f"{n}.staff"} for n, role in STAFF.items()]
    (tmp_path / "staff.yaml").write_text(yaml.safe_dump({"staff": staff}))
    generate_sealing_key(tmp_path / "sealing.key", tmp_path / "sealing.pub")
    (tmp_path / "hub.toml").write_text(
        "[hub]\n"
        'id = "hub"\nlisten = "127.0.0.1:0"\ndatabase_url = "sqlite:///hub.db"\n'
        'registry = "partners.yaml"\nstaff = "staff.yaml"\nsealing_keys = ["sealing.key"]\n'
        "[hub.tls]\n"
        f'ca_cert = "{hub_tls.ca_cert}"\ncert = "{hub_tls.cert}"\nkey = "{hub_tls.key}"\n'
    )
    service = build(config_module.load(tmp_path / "hub.toml"))
    port = service.start()
    names = ("home-1", "gp-patient", "home-2", "child", "parent")
    d = Desk(service, port, tls, keys, {n: pseudonym() for n in names})
    sealing = load_sealing_key(tmp_path / "sealing.key")
    p = d.pseudonyms
    sends = [
        (
            "woco-a",
            _signal(
                V.SIGNAL_TYPE_HUURACHTERSTAND,
                V.LIFE_DOMAIN_RONDKOMEN,
                V.LEGAL_BASIS_WGS_VROEGSIGNALERING,
                p["home-1"],
                None,
                arrears=True,
            ),
        ),
        (
            "huisarts-a",
            _signal(
                V.SIGNAL_TYPE_ZORGSIGNAAL_HUISARTS,
                V.LIFE_DOMAIN_ZORGEN,
                V.LEGAL_BASIS_TOESTEMMING,
                p["home-1"],
                p["gp-patient"],
            ),
        ),
        (
            "school-a",
            _signal(
                V.SIGNAL_TYPE_SCHOOLVERZUIM,
                V.LIFE_DOMAIN_LEREN,
                V.LEGAL_BASIS_JEUGDWET_VERWIJSINDEX,
                p["home-2"],
                p["child"],
            ),
        ),
        (
            "ggd-a",
            _signal(
                V.SIGNAL_TYPE_ZORGWEKKEND_GEDRAG,
                V.LIFE_DOMAIN_ZORGEN,
                V.LEGAL_BASIS_TOESTEMMING,
                p["home-2"],
                p["parent"],
            ),
        ),
    ]
    for pid, payload in sends:
        stub = intake_pb2_grpc.IntakeServiceStub(d.channel(pid))
        stub.Submit(intake_pb2.SubmitRequest(envelope=seal(keys[pid], sealing, payload)))
    assert service.judge is not None
    service.judge.flush()
    for c in service.store.list_cases():
        d.refs["landlord" if c.regiehouder == "woco-a" else "complex"] = c.ref
    assert set(d.refs) == {"landlord", "complex"}
    yield d
    d.close()
    service.stop(grace=0.5)


def _refs(cases: Any) -> list[str]:
    return [c.case_ref for c in cases]


def _code(call: Callable[[], object]) -> grpc.StatusCode:
    with pytest.raises(grpc.RpcError) as info:
        call()
    code: grpc.StatusCode = info.value.code()
    return code


def test_an_operator_lists_every_case_by_deadline_and_filters_by_status(desk: Desk) -> None:
    anna = desk.operator("anna")
    cases = anna.ListCases(O.ListCasesRequest()).cases
    assert sorted(_refs(cases)) == sorted(desk.refs.values())
    deadlines = [(c.deadline.year, c.deadline.month, c.deadline.day) for c in cases]
    assert deadlines == sorted(deadlines)
    by_ref = {c.case_ref: c for c in cases}
    landlord = by_ref[desk.refs["landlord"]]
    assert (landlord.status, landlord.regiehouder_id) == (F.CASE_STATUS_ASSIGNED, "woco-a")
    assert landlord.escalation_level == O.ESCALATION_LEVEL_NONE
    escalated = anna.ListCases(O.ListCasesRequest(status=F.CASE_STATUS_ESCALATED)).cases
    assert _refs(escalated) == [desk.refs["complex"]]


def test_a_procesregisseur_sees_only_escalated_cases_with_level_and_rule(desk: Desk) -> None:
    piet = desk.operator("piet")
    [case] = piet.ListCases(O.ListCasesRequest()).cases
    assert case.case_ref == desk.refs["complex"]
    assert case.status == F.CASE_STATUS_ESCALATED
    assert case.escalation_level == O.ESCALATION_LEVEL_PROCESREGISSEUR
    assert case.escalation_rule == "multi_complex"
    assert case.HasField("escalation_deadline")
    # Not a case that was never escalated: not listed, not shown.
    request = O.GetCaseRequest(case_ref=desk.refs["landlord"])
    assert _code(lambda: piet.GetCase(request)) is grpc.StatusCode.PERMISSION_DENIED
    # The bestuurder sees nothing below its level.
    assert list(desk.operator("bea").ListCases(O.ListCasesRequest()).cases) == []


def test_a_case_is_shown_without_identities_and_without_the_gp(desk: Desk) -> None:
    response = desk.operator("anna").GetCase(O.GetCaseRequest(case_ref=desk.refs["landlord"]))
    case = response.case_detail
    assert case.regiehouder_id == "woco-a"
    assert case.regiehouder_contact_point == "Woonstede, team incasso"
    # The GP's signal counts, but neither the GP nor its care domain shows.
    assert [(i.partner_id, i.partner_type) for i in case.involved] == [
        ("woco-a", V.PARTNER_TYPE_WONINGCORPORATIE)
    ]
    assert list(case.life_domains) == [V.LIFE_DOMAIN_RONDKOMEN]
    raw = response.SerializeToString()
    for value in desk.pseudonyms.values():
        assert value not in raw
    assert b"huisarts" not in raw.lower()
    assert (
        _code(lambda: desk.operator("anna").GetCase(O.GetCaseRequest(case_ref="C-nope")))
        is grpc.StatusCode.INVALID_ARGUMENT
    )
    unknown = O.GetCaseRequest(case_ref="C-" + "0" * 20)
    assert _code(lambda: desk.operator("anna").GetCase(unknown)) is grpc.StatusCode.NOT_FOUND


def test_the_hidden_gp_does_not_tip_the_regiehouder_choice(desk: Desk) -> None:
    """The GP's care signal would have weighed for the GGD (care: 3) over the landlord
    (arrears: 2); hidden, it does not count, so the landlord coordinates."""
    [case] = [
        c
        for c in desk.operator("anna").ListCases(O.ListCasesRequest()).cases
        if c.case_ref == desk.refs["landlord"]
    ]
    assert case.regiehouder_id == "woco-a"


def test_acknowledging_tells_the_partners_the_new_status(desk: Desk) -> None:
    ref = desk.refs["landlord"]
    case = desk.operator("anna").Acknowledge(O.AcknowledgeRequest(case_ref=ref)).case_detail
    assert case.status == F.CASE_STATUS_ACKNOWLEDGED
    which, briefing = desk.last_case_message("woco-a")
    assert which == "regiehouder_briefing"
    assert (briefing.kind, briefing.status) == (
        F.CASE_NOTICE_KIND_CASE_UPDATED,
        F.CASE_STATUS_ACKNOWLEDGED,
    )
    which, notice = desk.last_case_message("huisarts-a")
    assert (which, notice.status) == ("case_notice", F.CASE_STATUS_ACKNOWLEDGED)
    again = O.AcknowledgeRequest(case_ref=ref)
    assert (
        _code(lambda: desk.operator("anna").Acknowledge(again))
        is grpc.StatusCode.FAILED_PRECONDITION
    )


def test_reassigning_briefs_the_new_regiehouder_within_capacity(desk: Desk) -> None:
    anna = desk.operator("anna")
    ref = desk.refs["landlord"]
    for partner, code in (
        ("huisarts-a", grpc.StatusCode.FAILED_PRECONDITION),  # may not coordinate
        ("school-a", grpc.StatusCode.FAILED_PRECONDITION),  # capacity 1, already full
        ("woco-a", grpc.StatusCode.FAILED_PRECONDITION),  # its regiehouder already
        ("nobody", grpc.StatusCode.NOT_FOUND),
    ):
        request = O.ReassignRequest(case_ref=ref, partner_id=partner)
        assert _code(lambda r=request: anna.Reassign(r)) is code, partner  # type: ignore[misc]
    case = anna.Reassign(O.ReassignRequest(case_ref=ref, partner_id="team-noord")).case_detail
    assert (case.status, case.regiehouder_id, case.regie_rule) == (
        F.CASE_STATUS_ASSIGNED,
        "team-noord",
        "staff",
    )
    assert case.HasField("deadline")
    which, briefing = desk.last_case_message("team-noord")
    assert which == "regiehouder_briefing"
    assert briefing.kind == F.CASE_NOTICE_KIND_REGIE_ASSIGNED
    assert [i.partner_type for i in briefing.involved] == [V.PARTNER_TYPE_WONINGCORPORATIE]
    # The old regiehouder (and sender) learns who coordinates now, as the GP does.
    for partner in ("woco-a", "huisarts-a"):
        which, notice = desk.last_case_message(partner)
        assert which == "case_notice"
        assert notice.regiehouder_contact_point == "Sociaal team Noord, 0800-1234"


def test_escalating_reaches_the_procesregisseur_then_the_bestuurder(desk: Desk) -> None:
    anna, piet, bea = desk.operator("anna"), desk.operator("piet"), desk.operator("bea")
    ref = desk.refs["landlord"]
    case = anna.Escalate(O.EscalateRequest(case_ref=ref)).case_detail
    assert (case.status, case.escalation_level, case.escalation_rule) == (
        F.CASE_STATUS_ESCALATED,
        O.ESCALATION_LEVEL_PROCESREGISSEUR,
        "staff",
    )
    assert ref in _refs(piet.ListCases(O.ListCasesRequest()).cases)
    assert ref not in _refs(bea.ListCases(O.ListCasesRequest()).cases)
    case = piet.Escalate(O.EscalateRequest(case_ref=ref)).case_detail
    assert case.escalation_level == O.ESCALATION_LEVEL_BESTUURDER
    assert _refs(bea.ListCases(O.ListCasesRequest()).cases) == [ref]
    assert (
        _code(lambda: bea.Escalate(O.EscalateRequest(case_ref=ref)))
        is grpc.StatusCode.FAILED_PRECONDITION
    )
    kept = [(r.role, r.rule) for r in desk.service.store.escalation_records(ref)]
    assert kept == [("PROCESREGISSEUR", "staff"), ("BESTUURDER", "staff")]
    _, briefing = desk.last_case_message("woco-a")
    assert briefing.status == F.CASE_STATUS_ESCALATED


def test_closing_tells_the_senders_the_outcome_code_only(desk: Desk) -> None:
    piet = desk.operator("piet")
    ref = desk.refs["complex"]
    bad = O.CloseRequest(case_ref=ref)
    assert _code(lambda: piet.Close(bad)) is grpc.StatusCode.INVALID_ARGUMENT
    request = O.CloseRequest(case_ref=ref, outcome=F.CASE_OUTCOME_HELPED)
    case = piet.Close(request).case_detail
    assert (case.status, case.outcome) == (F.CASE_STATUS_CLOSED, F.CASE_OUTCOME_HELPED)
    assert case.HasField("closed_on")
    for partner in ("school-a", "ggd-a"):
        _, msg = desk.last_case_message(partner)
        assert (msg.kind, msg.outcome) == (F.CASE_NOTICE_KIND_CASE_CLOSED, F.CASE_OUTCOME_HELPED)
    assert _code(lambda: piet.Close(request)) is grpc.StatusCode.FAILED_PRECONDITION


def test_partner_and_unknown_certificates_are_refused_and_staff_stay_off_partner_services(
    desk: Desk,
) -> None:
    for who in ("woco-a", "team-noord", "stranger"):
        stub = desk.operator(who)
        assert (
            _code(lambda s=stub: s.ListCases(O.ListCasesRequest()))  # type: ignore[misc]
            is grpc.StatusCode.PERMISSION_DENIED
        ), who
    intake = intake_pb2_grpc.IntakeServiceStub(desk.channel("anna"))
    assert (
        _code(lambda: intake.Withdraw(intake_pb2.WithdrawRequest(id=b"\x00" * 16)))
        is grpc.StatusCode.UNAUTHENTICATED
    )
    feed = feed_pb2_grpc.PartnerFeedServiceStub(desk.channel("anna"))
    assert (
        _code(lambda: list(feed.Subscribe(F.SubscribeRequest(), timeout=2)))
        is grpc.StatusCode.UNAUTHENTICATED
    )


def test_every_view_and_action_is_audited_and_the_chain_verifies(desk: Desk) -> None:
    anna = desk.operator("anna")
    ref = desk.refs["landlord"]
    anna.ListCases(O.ListCasesRequest())
    anna.GetCase(O.GetCaseRequest(case_ref=ref))
    anna.Acknowledge(O.AcknowledgeRequest(case_ref=ref))
    verified = anna.VerifyAudit(O.VerifyAuditRequest())
    # The hub's escalation notice for the complex case, then anna's list, view and action.
    assert (verified.intact, verified.entries, verified.first_broken_seq) == (True, 4, 0)
    looks = anna.WhoLooked(O.WhoLookedRequest(person_pseudonym=desk.pseudonyms["gp-patient"]))
    assert [(x.actor_role, x.action) for x in looks.looks] == [
        (O.ACTOR_ROLE_OPERATOR, O.AUDIT_ACTION_VIEW_LIST),
        (O.ACTOR_ROLE_OPERATOR, O.AUDIT_ACTION_VIEW_CASE),
        (O.ACTOR_ROLE_OPERATOR, O.AUDIT_ACTION_ACKNOWLEDGE),
    ]
    household = anna.WhoLooked(O.WhoLookedRequest(household_key=desk.pseudonyms["home-2"]))
    assert [(x.actor_role, x.action) for x in household.looks] == [
        (O.ACTOR_ROLE_HUB, O.AUDIT_ACTION_ESCALATION_NOTICE),
        (O.ACTOR_ROLE_OPERATOR, O.AUDIT_ACTION_VIEW_LIST),
    ]
    # Asking is itself a look at the person's data.
    again = anna.WhoLooked(O.WhoLookedRequest(person_pseudonym=desk.pseudonyms["gp-patient"]))
    assert again.looks[-1].action == O.AUDIT_ACTION_VIEW_AUDIT
    piet = desk.operator("piet")
    asked = O.WhoLookedRequest(person_pseudonym=desk.pseudonyms["child"])
    assert _code(lambda: piet.WhoLooked(asked)) is grpc.StatusCode.PERMISSION_DENIED
    short = O.WhoLookedRequest(person_pseudonym=b"\x01" * 8)
    assert _code(lambda: anna.WhoLooked(short)) is grpc.StatusCode.INVALID_ARGUMENT
    assert piet.VerifyAudit(O.VerifyAuditRequest()).intact
