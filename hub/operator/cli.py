"""`seinhuis operator ...`: municipal staff's command line for cases, over the hub's
OperatorService with the member's own certificate. Output in Dutch; `--json` for machines."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import grpc

from hub.operator import config as config_module
from hub.operator import serde
from hub.operator.texts import (
    ACTION,
    DOMAIN,
    ESCALATION,
    FAILURE,
    OUTCOME,
    PROBLEM,
    ROLE,
    STATUS,
    fields,
    table,
    word,
)
from seinhuis import transport
from seinhuis.v1 import feed_pb2, operator_pb2, operator_pb2_grpc

Stub = operator_pb2_grpc.OperatorServiceStub
#: Seconds to wait for the hub's answer.
TIMEOUT_S = 30.0


def register(parser: argparse.ArgumentParser) -> None:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", type=Path, required=True, metavar="FILE", help="operator.toml")
    common.add_argument("--json", action="store_true", help="machine-readable output")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    listing = sub.add_parser("list", parents=[common], help="cases by status and deadline")
    listing.add_argument(
        "--status", type=_code_of(STATUS), help="only this status: " + _choices(STATUS)
    )
    listing.set_defaults(func=_list)
    for name, func, help_text in (
        ("show", _show, "one case, without identities"),
        ("ack", _ack, "record that the regiehouder took the case on"),
        ("escalate", _escalate, "to the procesregisseur, or from there to the bestuurder"),
    ):
        cmd = sub.add_parser(name, parents=[common], help=help_text)
        cmd.add_argument("ref", metavar="REF", help="the case reference, C-...")
        cmd.set_defaults(func=func)
    reassign = sub.add_parser(
        "reassign", parents=[common], help="hand the case to another coordinating partner"
    )
    reassign.add_argument("ref", metavar="REF")
    reassign.add_argument("partner", metavar="PARTNER", help="the new regiehouder's partner id")
    reassign.set_defaults(func=_reassign)
    close = sub.add_parser("close", parents=[common], help="close the case with an outcome")
    close.add_argument("ref", metavar="REF")
    close.add_argument("outcome", type=_code_of(OUTCOME), metavar="OUTCOME", help=_choices(OUTCOME))
    close.set_defaults(func=_close)
    audit = sub.add_parser("audit", help="the audit log")
    audit_sub = audit.add_subparsers(dest="audit_command", required=True, metavar="COMMAND")
    verify = audit_sub.add_parser("verify", parents=[common], help="check the hash chain")
    verify.set_defaults(func=_verify)
    looked = audit_sub.add_parser(
        "who-looked", parents=[common], help="who looked at a person's or household's data"
    )
    looked.add_argument("pseudonym", type=_hex32, metavar="PSEUDONYM_HEX")
    looked.add_argument(
        "--household", action="store_true", help="the hex is a household key, not a person"
    )
    looked.set_defaults(func=_who_looked)


def _choices(words: dict[str, str]) -> str:
    return ", ".join(f"{code} ({dutch})" for code, dutch in words.items())


def _code_of(words: dict[str, str]) -> Callable[[str], str]:
    """Accept a code (HELPED) or its Dutch word (geholpen), in any case."""
    by_word = {dutch.lower(): code for code, dutch in words.items()}

    def parse(text: str) -> str:
        code = text.upper().replace("-", "_")
        if code in words:
            return code
        if text.lower() in by_word:
            return by_word[text.lower()]
        raise argparse.ArgumentTypeError("kies uit " + _choices(words))

    return parse


def _hex32(text: str) -> bytes:
    try:
        value = bytes.fromhex(text)
    except ValueError:
        raise argparse.ArgumentTypeError("64 hexadecimale tekens") from None
    if len(value) != 32:
        raise argparse.ArgumentTypeError("64 hexadecimale tekens")
    return value


def _call(args: argparse.Namespace, work: Callable[[Stub], Any]) -> Any:
    config = config_module.load(args.config)
    channel = transport.secure_channel(config.hub, config.tls, server_name=config.server_name)
    try:
        return work(Stub(channel))
    finally:
        channel.close()


def _run(
    args: argparse.Namespace,
    work: Callable[[Stub], Any],
    show: Callable[[Any], str],
    *,
    failed: Callable[[Any], bool] = lambda _: False,
) -> int:
    """Call the hub, print the answer (Dutch, or JSON); 2 when the hub refused, 1 when the
    answer itself reports a failure (a broken audit chain)."""
    try:
        answer = _call(args, work)
    except grpc.RpcError as exc:
        code = exc.code().name if exc.code() is not None else "UNKNOWN"
        print(f"seinhuis operator: {word(FAILURE, code)}: {exc.details()}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(answer, ensure_ascii=False, indent=2))
    else:
        print(show(answer))
    return 1 if failed(answer) else 0


def _list(args: argparse.Namespace) -> int:
    status = feed_pb2.CaseStatus.Value(
        "CASE_STATUS_" + args.status if args.status else "CASE_STATUS_UNSPECIFIED"
    )

    def work(stub: Stub) -> list[dict[str, object]]:
        found = stub.ListCases(operator_pb2.ListCasesRequest(status=status), timeout=TIMEOUT_S)
        return [serde.summary_from_proto(c) for c in found.cases]

    return _run(args, work, render_list)


def render_list(cases: Sequence[dict[str, Any]]) -> str:
    if not cases:
        return "Geen casussen."
    rows = [
        (
            c["case"],
            word(STATUS, c["status"]),
            c["deadline"] or "-",
            c["regiehouder"] or "-",
            word(ESCALATION, c["escalation"]),
            c["escalation_rule"] or "-",
            word(OUTCOME, c["outcome"]),
        )
        for c in cases
    ]
    header = ("casus", "status", "termijn", "regiehouder", "opgeschaald naar", "regel", "uitkomst")
    noun = "casus" if len(cases) == 1 else "casussen"
    return table(header, rows) + f"\n\n{len(cases)} {noun}"


def render_case(c: dict[str, Any]) -> str:
    regiehouder = c["regiehouder"] or "nog niet toegewezen"
    if c["regiehouder_contact_point"]:
        regiehouder += f" ({c['regiehouder_contact_point']})"
    pairs = [
        ("Casus", c["case"]),
        ("Status", word(STATUS, c["status"])),
        ("Geopend op", c["opened_on"] or "-"),
        ("Regiehouder", regiehouder),
        ("Gekozen volgens", c["regie_rule"] or "-"),
        ("Reactietermijn", c["deadline"] or "-"),
        ("Opgeschaald naar", word(ESCALATION, c["escalation"])),
    ]
    if c["escalation"] not in (None, "NONE"):
        pairs += [
            ("Regel opschaling", c["escalation_rule"] or "-"),
            ("Opgeschaald op", c["escalated_on"] or "-"),
            ("Termijn opschaling", c["escalation_deadline"] or "-"),
        ]
    if c["outcome"]:
        pairs += [("Uitkomst", word(OUTCOME, c["outcome"])), ("Gesloten op", c["closed_on"])]
    domains = ", ".join(word(DOMAIN, d) for d in c["life_domains"]) or "-"
    pairs.append(("Levensdomeinen", domains))
    text = fields(pairs)
    if c["involved"]:
        rows = [
            (
                i["partner"],
                (i["partner_type"] or "").lower().replace("_", " "),
                i["contact_point"] or "-",
                ", ".join(word(DOMAIN, d) for d in i["life_domains"]),
            )
            for i in c["involved"]
        ]
        text += "\n\nBetrokken organisaties\n" + table(
            ("partner", "soort", "contactpunt", "levensdomeinen"), rows
        )
    return text


def _show(args: argparse.Namespace) -> int:
    def work(stub: Stub) -> dict[str, object]:
        found = stub.GetCase(operator_pb2.GetCaseRequest(case_ref=args.ref), timeout=TIMEOUT_S)
        return serde.detail_from_proto(found.case_detail)

    return _run(args, work, render_case)


def _done(sentence: Callable[[dict[str, Any]], str]) -> Callable[[dict[str, Any]], str]:
    return lambda c: sentence(c) + "\n\n" + render_case(c)


def _ack(args: argparse.Namespace) -> int:
    def work(stub: Stub) -> dict[str, object]:
        request = operator_pb2.AcknowledgeRequest(case_ref=args.ref)
        return serde.detail_from_proto(stub.Acknowledge(request, timeout=TIMEOUT_S).case_detail)

    return _run(
        args, work, _done(lambda c: f"Casus {c['case']}: de regiehouder heeft de casus opgepakt.")
    )


def _reassign(args: argparse.Namespace) -> int:
    def work(stub: Stub) -> dict[str, object]:
        request = operator_pb2.ReassignRequest(case_ref=args.ref, partner_id=args.partner)
        return serde.detail_from_proto(stub.Reassign(request, timeout=TIMEOUT_S).case_detail)

    return _run(
        args,
        work,
        _done(lambda c: f"Casus {c['case']} is overgedragen aan {c['regiehouder']}."),
    )


def _escalate(args: argparse.Namespace) -> int:
    def work(stub: Stub) -> dict[str, object]:
        request = operator_pb2.EscalateRequest(case_ref=args.ref)
        return serde.detail_from_proto(stub.Escalate(request, timeout=TIMEOUT_S).case_detail)

    return _run(
        args,
        work,
        _done(
            lambda c: (
                f"Casus {c['case']} is opgeschaald naar de {word(ESCALATION, c['escalation'])}."
            )
        ),
    )


def _close(args: argparse.Namespace) -> int:
    outcome = feed_pb2.CaseOutcome.Value("CASE_OUTCOME_" + args.outcome)

    def work(stub: Stub) -> dict[str, object]:
        request = operator_pb2.CloseRequest(case_ref=args.ref, outcome=outcome)
        return serde.detail_from_proto(stub.Close(request, timeout=TIMEOUT_S).case_detail)

    return _run(
        args,
        work,
        _done(lambda c: f"Casus {c['case']} is gesloten; uitkomst: {word(OUTCOME, c['outcome'])}."),
    )


def render_verification(v: dict[str, Any]) -> str:
    if v["intact"]:
        return f"Auditlog in orde: {v['entries']} regels gecontroleerd, de keten klopt."
    return (
        f"Auditlog NIET in orde: regel {v['first_broken']}: "
        f"{word(PROBLEM, v['problem'])}. Meld dit aan de functionaris gegevensbescherming."
    )


def _verify(args: argparse.Namespace) -> int:
    def work(stub: Stub) -> dict[str, object]:
        found = stub.VerifyAudit(operator_pb2.VerifyAuditRequest(), timeout=TIMEOUT_S)
        return serde.verification_from_proto(found)

    return _run(args, work, render_verification, failed=lambda v: not v["intact"])


def render_looks(looks: Sequence[dict[str, Any]]) -> str:
    if not looks:
        return "Niemand heeft deze gegevens bekeken."
    rows = [(x["at"], word(ROLE, x["role"]), word(ACTION, x["action"])) for x in looks]
    return table(("wanneer (UTC)", "wie (rol)", "wat"), rows)


def _who_looked(args: argparse.Namespace) -> int:
    request = (
        operator_pb2.WhoLookedRequest(household_key=args.pseudonym)
        if args.household
        else operator_pb2.WhoLookedRequest(person_pseudonym=args.pseudonym)
    )

    def work(stub: Stub) -> list[dict[str, object]]:
        found = stub.WhoLooked(request, timeout=TIMEOUT_S)
        return [serde.look_from_proto(x) for x in found.looks]

    return _run(args, work, render_looks)
