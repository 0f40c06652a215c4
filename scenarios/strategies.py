"""Strategy overlays: named, validated patches of a base scenario.

A strategy's ``overrides`` map dotted paths to new values. A path walks the scenario: a field
name at a model, an ``id`` (or a strategy ``name``, or an index) at a list, any key at a
free mapping such as ``policy.item_priority``::

    links.rail_pl_ua.vehicles: 12
    nodes.rzeszow_hub.service_days: {dist: fixed, value: 0.2}
    policy.channel: bilateral

The patched data is validated exactly like the base scenario, so a strategy can never produce
a scenario the language would reject.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

from scenarios.errors import format_path
from scenarios.refs import did_you_mean

if TYPE_CHECKING:  # scenarios.schema imports this module (Scenario.with_strategy): no import back at run time
    from scenarios.schema import Scenario

__all__ = ["StrategyProblem", "apply_overrides", "apply_strategy", "strategy_problems", "UnknownStrategy"]

Loc = tuple[str | int, ...]


class StrategyProblem(ValueError):
    """An override that cannot be applied; ``loc`` is the override's own position."""

    def __init__(self, loc: Loc, message: str) -> None:
        self.loc = loc
        self.message = message
        super().__init__(f"{format_path(loc)}: {message}")


class UnknownStrategy(KeyError):
    """No strategy of that name in the scenario."""


def _step(model: Any, data: Any, seg: str) -> tuple[Any, Any, str | int]:
    """One path segment: the child model, child data and the key used in ``data``."""
    if isinstance(model, BaseModel):
        fields = type(model).model_fields
        for name, info in fields.items():
            if seg in (name, info.alias):
                key = info.alias or name
                return getattr(model, name), data[key], key
        names = sorted(i.alias or n for n, i in fields.items())
        raise KeyError(f"no field {seg!r} here{did_you_mean(seg, names)} (fields: {', '.join(names)})")
    if isinstance(model, (list, tuple)):
        for i, child in enumerate(model):
            if getattr(child, "id", None) == seg or getattr(child, "name", None) == seg:
                return child, data[i], i
        if seg.isascii() and seg.isdigit() and int(seg) < len(model):
            return model[int(seg)], data[int(seg)], int(seg)
        known = [str(getattr(c, "id", getattr(c, "name", ""))) for c in model]
        more = "..." if len(known) > 12 else ""
        raise KeyError(f"no entry {seg!r}{did_you_mean(seg, known)} (known: {', '.join(known[:12])}{more})")
    if isinstance(model, dict):
        return model.get(seg), data.get(seg) if isinstance(data, dict) else None, seg
    raise KeyError(f"cannot descend into a {type(model).__name__} with {seg!r}")


def _set(scenario: Scenario, data: dict[str, Any], path: str, value: Any) -> None:
    segs = path.split(".")
    if any(not s for s in segs):
        raise KeyError("empty segment in path")
    model: Any = scenario
    node: Any = data
    for seg in segs[:-1]:
        model, child, key = _step(model, node, seg)
        if child is None:
            raise KeyError(f"{seg!r} is not set in the base scenario; override the whole value instead")
        node = child
    last = segs[-1]
    if isinstance(model, dict):
        node[last] = value
        return
    _, _, key = _step(model, node, last)
    node[key] = value


def apply_overrides(base: Scenario, overrides: dict[str, Any], where: Loc = ()) -> Scenario:
    """``base`` with ``overrides`` applied and validated; raises StrategyProblem."""
    data = base.model_dump(by_alias=True, mode="python", exclude={"strategies"})
    for path, value in overrides.items():
        try:
            _set(base, data, path, value)
        except KeyError as exc:
            raise StrategyProblem((*where, path), f"unknown path: {exc.args[0]}") from None
    data["strategies"] = []
    try:
        return type(base).model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        if first["type"] == "reference":
            loc, msg = first["ctx"]["problems"][0]
            raise StrategyProblem(where, f"makes {format_path(loc)} invalid: {msg}") from None
        raise StrategyProblem(where, f"makes {format_path(tuple(first['loc']))} invalid: {first['msg']}") from None


def apply_strategy(base: Scenario, name: str) -> Scenario:
    """The base scenario with the strategy ``name`` applied (``baseline`` = unchanged)."""
    for i, st in enumerate(base.strategies):
        if st.name == name:
            resolved = apply_overrides(base, st.overrides, ("strategies", i, "overrides"))
            return resolved.model_copy(update={"strategies": base.strategies})
    if name == "baseline":
        return base
    known = ["baseline", *(s.name for s in base.strategies)]
    raise UnknownStrategy(f"no strategy {name!r}{did_you_mean(name, known)} (known: {', '.join(known)})")


def strategy_problems(base: Scenario) -> list[tuple[Loc, str]]:
    """Every strategy of ``base`` that cannot be applied, as ``(loc, message)``.

    Each override is tried alone first, so a bad one is reported at its own line
    (``strategies[i].overrides.<path>``). A strategy whose overrides are each valid but not
    valid together (``low`` raised above a lowered ``high``) is reported at its ``overrides``
    mapping (``strategies[i].overrides``, the line of its first override), with the problem
    the combination makes. Overrides invalid alone but valid together (a unit's stock policy
    drawing on a depot that the same strategy gives a policy) make a valid strategy.
    """
    problems: list[tuple[Loc, str]] = []
    for i, st in enumerate(base.strategies):
        where: Loc = ("strategies", i, "overrides")
        alone: list[tuple[Loc, str]] = []
        for path, value in st.overrides.items():
            try:
                apply_overrides(base, {path: value}, where)
            except StrategyProblem as exc:
                alone.append(((*where, path), exc.message))
        if alone and len(st.overrides) > 1:
            # overrides valid only together (a unit's policy drawing on a depot given its policy
            # by the same strategy) make a valid strategy; otherwise each is reported at its line
            try:
                apply_overrides(base, st.overrides, where)
            except StrategyProblem:
                problems.extend(alone)
            continue
        problems.extend(alone)
        if not alone and len(st.overrides) > 1:
            try:
                apply_overrides(base, st.overrides, where)
            except StrategyProblem as exc:
                problems.append((where, f"the overrides together make {exc.message.removeprefix('makes ')}"))
    return problems
