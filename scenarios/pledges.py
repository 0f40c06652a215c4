"""Pledges: a donor's announced promise of a quantity of an item by a date, and how it becomes requirements.

A scenario's top-level ``pledges:`` list (``scenarios.schema.Pledge``) is expanded when the
scenario is validated (``Scenario``'s before-validator calls ``expand_pledges``), so every
way of building a ``Scenario`` (a file, a strategy overlay, a dict in a test) sees the same
requirements:

- a pledge that lists ``requirements`` is delivered by those requirements (they exist in the
  file, are of the pledge's item, are not streams, and belong to no other pledge);
- a pledge that names a ``unit`` (and lists no requirements) becomes one requirement of its
  own id: ``unit``, ``item``, ``qty``, opens on ``announced``, needed by ``deliver_by``,
  funded by ``donor`` through ``channel`` (and ``agency``), citing the pledge's sources. The
  expanded pledge then lists that requirement (``requirements: [<its id>]``), so expanding a
  resolved scenario again changes nothing.

The KPI (``results.costs``): the share of the pledged volume delivered by the end of the
``deliver_by`` date (``scenarios.schema.due_day``), each pledge counting at most its ``qty``.

Example:
    >>> data = {"requirements": [], "pledges": [{"id": "P1", "donor": "lv", "item": "router",
    ...     "qty": 10, "announced": "2025-05-01", "deliver_by": "2025-06-30", "unit": "u"}]}
    >>> out = expand_pledges(data)
    >>> out["requirements"][0]["need_by"], out["pledges"][0]["requirements"]
    ('2025-06-30', ['P1'])
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from scenarios.refs import did_you_mean

if TYPE_CHECKING:
    from scenarios.schema import Scenario

__all__ = ["expand_pledges", "pledge_problems"]

Loc = tuple[str | int, ...]


def expand_pledges(data: Any) -> Any:
    """The raw scenario mapping with each unit-naming pledge turned into a requirement.

    Anything that is not the expected shape is returned untouched: the model's own
    validation reports it at its place in the file. A pledge whose id is already a
    requirement's id is not expanded (``pledge_problems`` reports the clash).
    """
    if not isinstance(data, dict):
        return data
    pledges = data.get("pledges")
    if not isinstance(pledges, list) or not pledges:
        return data
    reqs = data.get("requirements", [])
    if not isinstance(reqs, list):
        return data
    taken = {r.get("id") for r in reqs if isinstance(r, dict)}
    new_reqs = list(reqs)
    new_pledges: list[Any] = []
    for p in pledges:
        if not isinstance(p, dict) or p.get("unit") is None or p.get("requirements") or p.get("id") in taken:
            new_pledges.append(p)
            continue
        req: dict[str, Any] = {
            "id": p.get("id"),
            "unit": p.get("unit"),
            "item": p.get("item"),
            "qty": p.get("qty"),
            "opens": p.get("announced"),
            "need_by": p.get("deliver_by"),
            "funders": [p.get("donor")],
            "channel": p.get("channel", "bilateral"),
            "cite": list(p.get("cite", [])) if isinstance(p.get("cite", []), list) else p.get("cite"),
        }
        if p.get("agency") is not None:
            req["agency"] = p["agency"]
        new_reqs.append(req)
        taken.add(p.get("id"))
        new_pledges.append({**p, "requirements": [p.get("id")]})
    return {**data, "requirements": new_reqs, "pledges": new_pledges}


def pledge_problems(
    s: Scenario, in_horizon: Callable[[Loc, dt.date], None], cites: Callable[[Loc, list[str]], None]
) -> list[tuple[Loc, str]]:
    """Broken references of ``s.pledges`` (``in_horizon`` and ``cites`` report into the caller's list)."""
    problems: list[tuple[Loc, str]] = []
    kinds = {n.id: n.kind for n in s.nodes}
    items = {i.id for i in s.items}
    reqs = {r.id: r for r in s.requirements}
    donors = [k for k, v in kinds.items() if v == "donor"]
    owner: dict[str, str] = {}
    seen: dict[str, int] = {}
    for i, p in enumerate(s.pledges):
        at: Loc = ("pledges", i)
        if p.id in seen:
            problems.append(((*at, "id"), f"duplicate id {p.id!r} (first at pledges[{seen[p.id]}])"))
        seen.setdefault(p.id, i)
        if p.donor not in kinds:
            problems.append(((*at, "donor"), f"unknown node {p.donor!r}{did_you_mean(p.donor, donors)}"))
        elif kinds[p.donor] != "donor":
            problems.append(((*at, "donor"), f"{p.donor!r} is a {kinds[p.donor]}, expected donor"))
        if p.item not in items:
            problems.append(((*at, "item"), f"unknown item {p.item!r}{did_you_mean(p.item, items)}"))
        if p.deliver_by < p.announced:
            problems.append(
                ((*at, "deliver_by"), f"deliver_by {p.deliver_by.isoformat()} is before announced {p.announced}")
            )
        in_horizon((*at, "deliver_by"), p.deliver_by)
        cites(at, p.cite)
        if p.unit is not None and p.requirements not in ([], [p.id]):
            problems.append(((*at, "unit"), "a pledge either names a unit (one requirement) or lists requirements"))
        if p.unit is None and not p.requirements:
            problems.append(((*at, "requirements"), "a pledge lists its requirements or names a unit"))
        if p.unit is not None and not p.requirements and p.id in reqs:
            problems.append(((*at, "id"), f"{p.id!r} is already a requirement's id: the pledge cannot become one"))
        for j, rid in enumerate(p.requirements):
            loc: Loc = (*at, "requirements", j)
            r = reqs.get(rid)
            if r is None:
                problems.append((loc, f"unknown requirement {rid!r}{did_you_mean(rid, reqs)}"))
                continue
            if r.item != p.item:
                problems.append((loc, f"requirement {rid!r} is of item {r.item!r}, the pledge of {p.item!r}"))
            if r.stream is not None:
                problems.append((loc, f"requirement {rid!r} is a stream: a pledge lists single requirements"))
            if p.donor not in r.funders:
                problems.append((loc, f"requirement {rid!r} is not funded by the pledge's donor {p.donor!r}"))
            if rid in owner:
                problems.append((loc, f"requirement {rid!r} already delivers pledge {owner[rid]!r}"))
            owner.setdefault(rid, p.id)
    return problems
