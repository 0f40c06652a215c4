"""The data of a lineage: stages by place, the timeline of work and waits, waits per resource.

``results.replay.lineage`` builds these from the event log (its module docstring defines every step
kind); ``sim.cli.trace`` prints them. ``Lineage.to_dict`` gives plain JSON-able data, each
step and wait with its ``label`` in words.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from scenarios.schema import due_day

if TYPE_CHECKING:
    from results.replay.columns import Row
    from results.replay.diversions import Diversion

__all__ = ["STEP_LABELS", "Lineage", "Stage", "Step", "Timeline", "Wait", "summarise"]

_EPS = 1e-9

STEP_LABELS: dict[str, str] = {
    "funds": "waiting for funds",
    "tender_q": "waiting for the tender",
    "tender": "tender",
    "lead": "bilateral lead time",
    "backlog": "production backlog",
    "production": "production",
    "stock": "waiting for the depot's stock",
    "vehicle": "waiting for a vehicle",
    "departure": "waiting to depart",
    "transit": "transit",
    "queue": "queue",
    "service": "service",
    "held": "held",
}
"""A step kind in words."""


@dataclass
class Stage:
    """A stretch of a lot's life, by place.

    Attributes:
        name: ``funding``, ``tender``, ``production``, ``handling <node>`` or ``transit <link>``.
        kind: ``funding``, ``tender``, ``production``, ``handling`` or ``transit``.
        where: The node or link (None for funding, tender, production).
        start: Day it began.
        end: Day it ended (None while still going at the end of the log).
        days: ``end - start`` (up to the end of the log while going).
        detail: Parts of the stage: tender ``pool`` / ``tender`` / ``award``; handling
            ``queue`` / ``service`` / ``wait_vehicle``; transit ``loading`` / ``travel``.
    """

    name: str
    kind: str
    where: str | None
    start: float
    end: float | None
    days: float
    detail: dict[str, float] = field(default_factory=dict)


@dataclass
class Step:
    """One step of a timeline: work or a wait, and its resource (see the module docstring).

    Attributes:
        kind: ``funds``, ``tender_q``, ``tender``, ``lead``, ``backlog``, ``production``,
            ``vehicle``, ``departure``, ``transit``, ``queue``, ``service`` (``held``: a gap
            between rows the log does not explain).
        wait: True for a wait, False for work (service or transit).
        resource: What it waits for or works on: ``donor D``, ``agency A``, ``line S/item``,
            ``node N`` or ``link L``.
        where: The node where a lot waits for a vehicle (None otherwise).
        start: Day it began; ``end`` the day it ended (None while going at the end of the run).
        days: Its length (up to the end of the run while going).
    """

    kind: str
    wait: bool
    resource: str
    where: str | None
    start: float
    end: float | None
    days: float

    @property
    def label(self) -> str:
        """The step kind in words."""
        return STEP_LABELS.get(self.kind, self.kind)


@dataclass
class Wait:
    """Days waited for one resource over a timeline (its wait steps of one kind added up)."""

    kind: str
    resource: str
    where: str | None
    days: float

    @property
    def label(self) -> str:
        """``waiting for a vehicle on link truck at maker``, ``queue at node hub``, ..."""
        base = STEP_LABELS.get(self.kind, self.kind)
        joint = " on " if self.kind in ("vehicle", "departure") else " at " if self.kind == "queue" else ", "
        return base + joint + self.resource + (f" at {self.where}" if self.where else "")


@dataclass
class Lineage:
    """The history of a lot or a requirement.

    Attributes:
        subject: ``lot 17`` or ``requirement R3``.
        requirement: The requirement id; ``ref`` its position in the scenario.
        lot: The lot id (None for a requirement).
        item, unit, qty: What, for whom, how many units.
        supplier: The lot's supplier (None for a requirement).
        opened_day: Day the requirement opened; ``need_by_day`` the day of its need-by date
            (the date is ``[need_by_day, need_by_day + 1)``; due by its end).
        done_day: Day the lot was delivered or lost, or the requirement was filled (None if not).
        outcome: A lot: ``delivered``, ``lost`` or ``open``. A requirement: ``filled``,
            ``filled short`` (units lost), ``short of funds`` or ``open`` (not filled).
        excess_days: ``done_day - (need_by_day + 1)`` (past the end of the need-by date); not
            done, ``end - (need_by_day + 1)`` if positive (late so far), else None.
        late: ``excess_days > 0``.
        stages: Stages by place, in order (for a requirement, those of its critical lot).
        steps: The timeline, work and waits (for a requirement, that of its critical part).
        no_wait_days: Days of work in ``steps``: the lead time with no waiting.
        wait_days: Days of waiting in ``steps``.
        waits: Waits per resource, largest first.
        culprit: For a late one, the largest wait (None if it never waited).
        rows: The rows of its history (the lot's own, its requirement's and contract's, and the
            departures of the vehicles it rode).
        lots: For a requirement, the lineage of each of its lots.
        critical_lot: For a requirement, the lot that finished last (or is still open); None
            when its critical part is units not yet contracted or produced.
        critical: For a requirement, its critical part in words.
        units_ordered: For a requirement, units under contract; ``units_delivered`` delivered.
        end_day: The end of the run the open steps last until.
        diversions: Where it left its planned route (routing ``on_departure``), in order; for a
            requirement, those of all its lots (``results.replay.diversions``).
    """

    subject: str
    requirement: str
    ref: int
    lot: int | None
    item: str | None
    unit: str | None
    qty: int
    supplier: str | None
    opened_day: float | None
    need_by_day: float | None
    done_day: float | None
    outcome: str
    excess_days: float | None
    late: bool
    stages: list[Stage]
    steps: list[Step]
    no_wait_days: float
    wait_days: float
    waits: list[Wait]
    culprit: Wait | None
    rows: list[Row]
    lots: list[Lineage] = field(default_factory=list)
    critical_lot: int | None = None
    critical: str = ""
    units_ordered: int = 0
    units_delivered: int = 0
    end_day: float | None = None
    diversions: list[Diversion] = field(default_factory=list)

    @property
    def allowed_days(self) -> float | None:
        """Days from opening to the end of the need-by date (None without either)."""
        if self.opened_day is None or self.need_by_day is None or not math.isfinite(self.need_by_day):
            return None
        return due_day(self.need_by_day) - self.opened_day

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able data."""
        out = asdict(self)
        out["allowed_days"] = self.allowed_days
        for st, d in zip(self.steps, out["steps"], strict=True):
            d["label"] = st.label
        if self.culprit is not None:
            out["culprit"]["label"] = self.culprit.label
        for w, d in zip(self.waits, out["waits"], strict=True):
            d["label"] = w.label
        return out


def summarise(steps: list[Step], late: bool) -> tuple[float, float, list[Wait], Wait | None]:
    """No-wait days, wait days, waits per resource (largest first) and the culprit of a late one."""
    work = sum(s.days for s in steps if not s.wait)
    waited = sum(s.days for s in steps if s.wait)
    per: dict[tuple[str, str, str | None], float] = {}
    for s in steps:
        if s.wait and s.days > _EPS:
            key = (s.kind, s.resource, s.where)
            per[key] = per.get(key, 0.0) + s.days
    waits = [Wait(k, r, w, d) for (k, r, w), d in sorted(per.items(), key=lambda kv: -kv[1])]
    return work, waited, waits, (waits[0] if late and waits else None)


class Timeline:
    """A timeline under construction: each step starts where the last ended."""

    __slots__ = ("cursor", "end", "items")

    def __init__(self, start: float, end: float) -> None:
        self.cursor = start
        self.end = end
        self.items: list[Step] = []

    def add(self, kind: str, wait: bool, resource: str, until: float | None, where: str | None = None) -> None:
        """A step from the cursor to ``until`` (None: still going at the end of the run)."""
        start = self.cursor
        if until is None:
            self.items.append(Step(kind, wait, resource, where, start, None, max(0.0, self.end - start)))
            self.cursor = math.inf
            return
        until = max(until, start)
        if until - start > _EPS:
            self.items.append(Step(kind, wait, resource, where, start, until, until - start))
        self.cursor = until
