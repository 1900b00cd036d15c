"""A synthetic scenario (demo/scenario.yaml) turned into requests on the nodes' local API."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from seinhuis.errors import ConfigError
from seinhuis.v1 import node_pb2, signal_pb2, vocabulary_pb2

DEFAULT_SCENARIO = Path(__file__).resolve().parent.parent / "demo" / "scenario.yaml"


def _date(value: Any) -> vocabulary_pb2.Date:
    d = value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))
    return vocabulary_pb2.Date(year=d.year, month=d.month, day=d.day)


@dataclass(frozen=True)
class Scenario:
    nodes: dict[str, str]
    addresses: dict[str, dict[str, Any]]
    people: dict[str, dict[str, Any]]
    parents: list[dict[str, str]]
    moves: list[dict[str, Any]]
    signals: list[dict[str, Any]]

    @classmethod
    def load(cls, path: Path = DEFAULT_SCENARIO) -> Scenario:
        data = yaml.safe_load(path.read_text())
        try:
            return cls(
                nodes=data["nodes"],
                addresses=data["addresses"],
                people=data["people"],
                parents=data.get("parents", []),
                moves=data.get("moves", []),
                signals=data["signals"],
            )
        except (KeyError, TypeError) as exc:
            raise ConfigError(f"{path}: missing section {exc}") from exc

    def institutions(self) -> list[str]:
        return [name for name, a in self.addresses.items() if a.get("institution")]

    def local_address(self, label: str) -> node_pb2.LocalAddress:
        a = self.addresses[label]
        return node_pb2.LocalAddress(
            postcode=a["postcode"],
            house_number=int(a["house_number"]),
            house_letter=a.get("house_letter", ""),
            house_number_addition=str(a.get("house_number_addition", "")),
        )

    def local_person(self, label: str) -> node_pb2.LocalPerson:
        p = self.people[label]
        return node_pb2.LocalPerson(bsn=str(p["bsn"]), birth_date=_date(p["birth_date"]))

    def population_requests(self) -> list[node_pb2.SubmitPopulationEventRequest]:
        """Residences and parenthood first, then moves: what a BRP node would feed."""
        requests = []
        for label, person in self.people.items():
            residence = node_pb2.LocalResidence(
                person=self.local_person(label),
                address=self.local_address(person["lives_at"]),
                since=_date(person.get("since", person["birth_date"])),
            )
            requests.append(node_pb2.SubmitPopulationEventRequest(residence=residence))
        for link in self.parents:
            parenthood = node_pb2.LocalParenthood(
                parent=self.local_person(link["parent"]), child=self.local_person(link["child"])
            )
            requests.append(node_pb2.SubmitPopulationEventRequest(parenthood=parenthood))
        for move in self.moves:
            relocation = node_pb2.LocalRelocation(
                person=self.local_person(move["person"]),
                to_address=self.local_address(move["to"]),
                on=_date(move["date"]),
            )
            requests.append(node_pb2.SubmitPopulationEventRequest(relocation=relocation))
        return requests

    def signal_request(self, s: dict[str, Any], *, with_bsn: bool) -> node_pb2.SubmitSignalRequest:
        """The request a partner system would send for one scenario signal."""
        if "about" in s:
            person = self.people[s["about"]]
            address = self.local_address(person["lives_at"])
            subject = node_pb2.LocalSubject(
                bsn=str(person["bsn"]) if with_bsn else "",
                birth_date=_date(person["birth_date"]),
                postcode=address.postcode,
                house_number=address.house_number,
                house_letter=address.house_letter,
                house_number_addition=address.house_number_addition,
            )
        else:
            address = self.local_address(s["at"])
            subject = node_pb2.LocalSubject(
                postcode=address.postcode,
                house_number=address.house_number,
                house_letter=address.house_letter,
                house_number_addition=address.house_number_addition,
            )
        request = node_pb2.SubmitSignalRequest(
            partner_reference=s["ref"],
            signal_type=vocabulary_pb2.SignalType.Value(f"SIGNAL_TYPE_{s['type']}"),
            urgency=vocabulary_pb2.Urgency.Value(f"URGENCY_{s.get('urgency', 'NORMAAL')}"),
            observed_on=_date(s["observed_on"]),
            subject=subject,
        )
        if "amount_cents" in s:
            request.arrears.CopyFrom(
                signal_pb2.Arrears(
                    amount_cents=int(s["amount_cents"]),
                    months_in_arrears=int(s["months_in_arrears"]),
                    contact_attempted=bool(s.get("contact_attempted", False)),
                    written_reminder_sent=bool(s.get("reminder_sent", False)),
                )
            )
        return request
