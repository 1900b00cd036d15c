"""Case notices in the node's inbox: stored with their content, mapped to the partner's own
references, and printed in Dutch by `seinhuis node inbox --tekst`."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from node.inbox import KIND_CASE_NOTICE, KIND_REGIEHOUDER_BRIEFING, describe
from seinhuis.v1 import feed_pb2, vocabulary_pb2
from tests.node.conftest import RunCli, StartNode, ggd_signal

CASE_ID = bytes(range(16))
DEADLINE = vocabulary_pb2.Date(year=2026, month=11, day=27)


def _notice(cursor: int, signal_id: bytes) -> feed_pb2.SubscribeResponse:
    response = feed_pb2.SubscribeResponse(
        cursor=cursor,
        case_notice=feed_pb2.CaseNotice(
            kind=feed_pb2.CASE_NOTICE_KIND_CASE_OPENED,
            case_id=CASE_ID,
            status=feed_pb2.CASE_STATUS_ASSIGNED,
            signal_ids=[signal_id],
            regiehouder_contact_point="Sociaal team Noord, 0800-1234",
            deadline=DEADLINE,
        ),
    )
    response.created_at.FromDatetime(dt.datetime(2026, 11, 20, tzinfo=dt.UTC))
    return response


def test_a_case_notice_is_mapped_to_the_partners_reference_and_told_in_dutch(
    start_node: StartNode, run_cli: RunCli, capsys: pytest.CaptureFixture[str]
) -> None:
    """The notice's signal id becomes the partner's reference; the sentence names the
    regiehouder and the deadline; a repeat of the same cursor is not stored twice."""
    service = start_node()
    message_id = service.local.node.submit_signal(ggd_signal(partner_reference="LL-2026-0412"))
    inbox = service.local.inbox
    assert inbox.store_response(_notice(4, message_id))
    assert not inbox.store_response(_notice(4, message_id))
    [view] = inbox.cases()
    assert view.kind == KIND_CASE_NOTICE and view.case_id == CASE_ID
    assert view.references == ("LL-2026-0412",) and view.status == "ASSIGNED"
    assert inbox.cursor() == 4
    config = service.config.database.parent / "node.toml"
    assert run_cli(["inbox", "--config", str(config), "--tekst"]) == 0
    assert capsys.readouterr().out.strip() == (
        "Uw signaal LL-2026-0412 maakt deel uit van een casus; regiehouder: Sociaal team "
        "Noord, 0800-1234; reactie uiterlijk 2026-11-27"
    )
    assert run_cli(["inbox", "--config", str(config)]) == 0
    item = json.loads(capsys.readouterr().out)
    assert item["kind"] == KIND_CASE_NOTICE and item["references"] == ["LL-2026-0412"]
    assert item["deadline"] == "2026-11-27" and item["id"] == CASE_ID.hex()


def test_a_briefing_lists_the_involved_partners_contact_points(start_node: StartNode) -> None:
    """The regiehouder's briefing shows the other partners' contact points and life domains."""
    service = start_node()
    response = feed_pb2.SubscribeResponse(
        cursor=1,
        regiehouder_briefing=feed_pb2.RegiehouderBriefing(
            kind=feed_pb2.CASE_NOTICE_KIND_REGIE_ASSIGNED,
            case_id=CASE_ID,
            status=feed_pb2.CASE_STATUS_ASSIGNED,
            regiehouder_contact_point="Sociaal team Noord, 0800-1234",
            deadline=DEADLINE,
            involved=[
                feed_pb2.InvolvedPartner(
                    partner_type=vocabulary_pb2.PARTNER_TYPE_SCHOOL,
                    contact_point="School De Linde",
                    life_domains=[vocabulary_pb2.LIFE_DOMAIN_LEREN],
                )
            ],
        ),
    )
    assert service.local.inbox.store_response(response)
    [view] = service.local.inbox.cases()
    assert view.kind == KIND_REGIEHOUDER_BRIEFING
    assert [(i.partner_type, i.contact_point, i.life_domains) for i in view.involved] == [
        ("SCHOOL", "School De Linde", ("LEREN",))
    ]
    text = describe(view)
    assert text.startswith("U bent regiehouder van een casus")
    assert "School De Linde (leren)" in text and "2026-11-27" in text
