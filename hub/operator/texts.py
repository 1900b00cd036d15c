"""Dutch wording for municipal staff: the codes of the operator interface, and its tables."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

STATUS = {
    "OPEN": "open",
    "ASSIGNED": "toegewezen",
    "ACKNOWLEDGED": "opgepakt",
    "IN_PROGRESS": "in behandeling",
    "ESCALATED": "opgeschaald",
    "CLOSED": "gesloten",
}
OUTCOME = {
    "HELPED": "geholpen",
    "DECLINED": "hulp afgewezen",
    "MOVED": "verhuisd",
    "UNJUSTIFIED": "ongegrond",
    "ALREADY_IN_CARE": "al in zorg",
    "NO_CONTACT": "geen contact",
}
ESCALATION = {
    "NONE": "geen",
    "PROCESREGISSEUR": "procesregisseur",
    "BESTUURDER": "bestuurder",
}
ROLE = {
    "OPERATOR": "medewerker",
    "PROCESREGISSEUR": "procesregisseur",
    "BESTUURDER": "bestuurder",
    "HUB": "de hub (automatisch)",
}
ACTION = {
    "VIEW_LIST": "lijst van casussen bekeken",
    "VIEW_CASE": "casus bekeken",
    "ACKNOWLEDGE": "casus als opgepakt gemeld",
    "REASSIGN": "casus overgedragen",
    "ESCALATE": "casus opgeschaald",
    "CLOSE": "casus gesloten",
    "VIEW_AUDIT": "opgevraagd wie gegevens bekeek",
    "ESCALATION_NOTICE": "opschaling gemeld aan procesregisseur of bestuurder",
    "VIEW_FIGURES": "overzichtscijfers bekeken",
}
PROBLEM = {
    "MISSING_ENTRY": "deze regel ontbreekt",
    "PREVIOUS_HASH_MISMATCH": "de verwijzing naar de vorige regel klopt niet",
    "HASH_MISMATCH": "de inhoud is gewijzigd (de hash klopt niet)",
}
DOMAIN = {
    "WONEN": "wonen",
    "HUISHOUDEN_VOEREN": "huishouden voeren",
    "ONTMOETEN": "ontmoeten",
    "MEEDOEN": "meedoen",
    "WERKEN": "werken",
    "OPGROEIEN": "opgroeien",
    "RONDKOMEN": "rondkomen",
    "LEREN": "leren",
    "ZORGEN": "zorgen",
}
#: gRPC status names as staff read them.
FAILURE = {
    "PERMISSION_DENIED": "geen toegang",
    "NOT_FOUND": "niet gevonden",
    "FAILED_PRECONDITION": "niet mogelijk",
    "INVALID_ARGUMENT": "ongeldige invoer",
    "UNAVAILABLE": "de hub is niet bereikbaar",
    "DEADLINE_EXCEEDED": "de hub antwoordde niet op tijd",
    "UNAUTHENTICATED": "niet aangemeld",
}


def word(table: Mapping[str, str], code: object) -> str:
    """The Dutch word for a code; '-' for none; the code itself if it has no word yet."""
    if code is None or code == "":
        return "-"
    return table.get(str(code), str(code))


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Columns aligned to their widest cell."""
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(header)]
    lines = [header, *rows]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip()
        for line in lines
    )


def fields(pairs: Sequence[tuple[str, str]]) -> str:
    """Label-value lines with the values aligned."""
    width = max(len(label) for label, _ in pairs)
    return "\n".join(f"{label.ljust(width)}  {value}" for label, value in pairs)
