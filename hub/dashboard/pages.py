"""Cijfers (the figures) and Escalaties (the escalated cases a member may see).

Every page view goes through the desk (hub.dashboard.desk), which writes its audit entry before
the page is shown. The figures page takes `per` (week, maand) and `naar` (levensdomein,
partner) from the query string: plain links, no scripts.
"""

from __future__ import annotations

from typing import TypeVar

from flask import Blueprint, abort, request
from werkzeug.wrappers import Response as BaseResponse

from hub.dashboard import texts
from hub.dashboard.context import current, deps, login_required, page
from hub.dashboard.sections import sections
from hub.figures import Dimension, Unit

bp = Blueprint("pages", __name__)

E = TypeVar("E", Unit, Dimension)


def _choice(kind: type[E], name: str) -> E:
    raw = request.args.get(name, "")
    if not raw:
        return next(iter(kind))
    try:
        return kind(raw)
    except ValueError:
        abort(400)


@bp.get("/cijfers")
@login_required
def figures() -> BaseResponse | tuple[str, int]:
    unit = _choice(Unit, "per")
    dimension = _choice(Dimension, "naar")
    found = deps().desk.figures(current(), unit, dimension)
    return page(
        "cijfers.html",
        figures=found,
        sections=sections(found),
        unit=unit,
        dimension=dimension,
        units=texts.UNITS,
        dimensions=texts.DIMENSIONS,
    )


@bp.get("/escalaties")
@login_required
def escalated() -> BaseResponse | tuple[str, int]:
    cases = deps().desk.escalated(current())
    return page("escalaties.html", cases=cases)
