"""The figures page as sections (pure): per subject a chart or two, what they show in words,
and a table with the same figures (for screen readers, and for whoever prefers numbers)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from hub.dashboard import charts, texts
from hub.dashboard.charts import BarChart, Heatmap
from hub.figures import Figure, Figures, Period, Series, Snapshot, Table


@dataclass(frozen=True)
class Column:
    short: str
    long: str


@dataclass(frozen=True)
class TableView:
    caption: str
    corner: str
    columns: tuple[Column, ...]
    #: Row header and the row's cells.
    rows: tuple[tuple[str, tuple[str, ...]], ...]


@dataclass(frozen=True)
class ChartView:
    id: str
    kind: str  # "bars", "heatmap" or "hbars"
    title: str
    description: str
    geometry: BarChart | Heatmap


@dataclass(frozen=True)
class SectionView:
    id: str
    title: str
    intro: str
    charts: tuple[ChartView, ...]
    table: TableView


def sections(f: Figures) -> list[SectionView]:
    unit = texts.UNIT_NOUN[f.unit]
    by = texts.DIMENSION_NOUN[f.dimension]
    return [
        _counted(
            "signalen",
            "Signalen ontvangen",
            f"Hoeveel signalen de hub per {unit} ontving, en van welk {by}.",
            f.signals,
            f,
        ),
        _counted(
            "zaken",
            "Matches: zaken geopend",
            f"Hoeveel zaken er per {unit} werden geopend (signalen die samen om een regiehouder "
            f"vragen), en per {by}. Een zaak kan onder meer dan één {by} vallen; "
            "een huisarts en signalen op basis van toestemming tellen hier niet mee.",
            f.opened,
            f,
        ),
        _derived(
            "regiehouder",
            "Tijd tot een regiehouder",
            "De mediaan van de tijd tussen het openen van een zaak en het moment dat een "
            f"regiehouder erover hoorde, per {unit} waarin de zaak werd geopend.",
            f.to_regiehouder,
            texts.hours,
            "Mediaan",
            top=None,
        ),
        _derived(
            "op-tijd",
            "Op tijd opgepakt",
            "Welk deel van de zaken de regiehouder vóór de reactietermijn oppakte, per "
            f"{unit} waarin de zaak werd geopend. Zaken waarvan de termijn nog loopt, tellen "
            "nog niet mee.",
            f.in_time,
            texts.percent,
            "Op tijd",
            top=100,
        ),
        _counted(
            "escalaties",
            "Escalaties",
            f"Hoe vaak een zaak per {unit} werd opgeschaald naar de procesregisseur of de "
            f"bestuurder, en per {by}.",
            f.escalated,
            f,
        ),
        _counted(
            "te-laat",
            "Te laat opgepakt",
            "Zaken die niet vóór hun reactietermijn werden opgepakt, per "
            f"{unit} waarin de zaak werd geopend, en per {by}.",
            f.late,
            f,
        ),
        _snapshot(
            "over-termijn",
            "Nu over de termijn",
            "Open zaken waarvan de reactietermijn of de termijn van de procesregisseur "
            f"vandaag ({texts.date(f.today)}) verstreken is, per {by}.",
            f.overdue,
        ),
        _counted(
            "uitkomsten",
            "Uitkomsten",
            f"Hoeveel zaken er per {unit} werden gesloten, en met welke uitkomst.",
            f.outcomes,
            f,
            total_label="Gesloten zaken",
        ),
    ]


def _columns(periods: Sequence[Period]) -> tuple[Column, ...]:
    return tuple(Column(texts.period_short(p), texts.period_long(p)) for p in periods)


def _span(periods: Sequence[Period]) -> str:
    return f"van {texts.period_long(periods[0])} tot en met {texts.period_long(periods[-1])}"


def _highest(
    periods: Sequence[Period], values: Sequence[Figure], show: Callable[[Figure], str]
) -> str:
    shown = [(f.value, i) for i, f in enumerate(values) if f.shown and f.value is not None]
    if not shown:
        return "Geen enkel getal is groot genoeg om te tonen."
    _, i = max(shown)
    return f"Hoogste: {show(values[i])} in {texts.period_long(periods[i])}."


def _marks(values: Sequence[Figure]) -> str:
    found = [m for m in texts.MARKS if any(v.mark is m for v in values)]
    return " ".join(f"{texts.MARKS[m]} betekent: {texts.MARK_MEANING[m]}." for m in found)


def _counted(
    id_: str, title: str, intro: str, table: Table, f: Figures, *, total_label: str = "Totaal"
) -> SectionView:
    columns = _columns(table.periods)
    names = [texts.category(c) for c in table.categories]
    bars = charts.bar_chart(
        [c.short for c in columns], [c.long for c in columns], table.totals, texts.count
    )
    every = [*table.totals, *(x for row in table.rows for x in row)]
    heat = charts.heatmap(
        names, [c.short for c in columns], [c.long for c in columns], table.rows, texts.count
    )
    by = texts.DIMENSION_NOUN[f.dimension] if id_ != "uitkomsten" else "uitkomst"
    unit = texts.UNIT_NOUN[f.unit]
    return SectionView(
        id=id_,
        title=title,
        intro=intro,
        charts=(
            ChartView(
                f"{id_}-totaal",
                "bars",
                f"{title}: {total_label.lower()} per {unit}",
                f"Staafdiagram, {_span(table.periods)}. "
                + _highest(table.periods, table.totals, texts.count)
                + " "
                + _marks(table.totals),
                bars,
            ),
            ChartView(
                f"{id_}-per",
                "heatmap",
                f"{title} per {by} en per {unit}",
                f"Tabel in kleur: een rij per {by}, een kolom per {unit}; hoe donkerder, hoe "
                "meer. " + _marks(every),
                heat,
            ),
        ),
        table=TableView(
            caption=f"{title} per {by} en per {unit}",
            corner=by.capitalize(),
            columns=columns,
            rows=(
                (total_label, tuple(texts.count(x) for x in table.totals)),
                *(
                    (name, tuple(texts.count(x) for x in row))
                    for name, row in zip(names, table.rows, strict=True)
                ),
            ),
        ),
    )


def _derived(
    id_: str,
    title: str,
    intro: str,
    series: Series,
    show: Callable[[Figure], str],
    label: str,
    *,
    top: float | None,
) -> SectionView:
    columns = _columns(series.periods)
    bars = charts.bar_chart(
        [c.short for c in columns],
        [c.long for c in columns],
        series.values,
        show,
        top=top,
        small_bars=False,
    )
    return SectionView(
        id=id_,
        title=title,
        intro=intro,
        charts=(
            ChartView(
                f"{id_}-grafiek",
                "bars",
                f"{title} per {texts.UNIT_NOUN[series.periods[0].unit]}",
                f"Staafdiagram, {_span(series.periods)}. "
                + _highest(series.periods, series.values, show)
                + " "
                + _marks(series.values),
                bars,
            ),
        ),
        table=TableView(
            caption=title,
            corner="",
            columns=columns,
            rows=((label, tuple(show(x) for x in series.values)),),
        ),
    )


def _snapshot(id_: str, title: str, intro: str, snapshot: Snapshot) -> SectionView:
    names = [texts.category(c) for c in snapshot.categories]
    bars = charts.horizontal_bars(names, snapshot.values, texts.count)
    return SectionView(
        id=id_,
        title=title,
        intro=intro + f" In totaal: {texts.count(snapshot.total)}.",
        charts=(
            ChartView(
                f"{id_}-grafiek",
                "hbars",
                title,
                f"Liggend staafdiagram, een staaf per categorie. In totaal "
                f"{texts.count(snapshot.total)}. " + _marks([snapshot.total, *snapshot.values]),
                bars,
            ),
        ),
        table=TableView(
            caption=title,
            corner="",
            columns=(Column("Zaken", "Zaken"),),
            rows=(
                ("Totaal", (texts.count(snapshot.total),)),
                *((n, (texts.count(v),)) for n, v in zip(names, snapshot.values, strict=True)),
            ),
        ),
    )
