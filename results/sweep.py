"""Sweep points by their parameter values, and the smallest value that meets a target.

A sweep point is named by its parameter values (``point_label``:
``links.road_hub_border.vehicles=3, nodes.rzeszow_hub.servers=2``) in the CLI, in
``sweep.parquet``, in the manifest and in the report.

A target (``aidflow sweep --target``) is ``KPI[SELECTORS] OP VALUE``:

- ``KPI`` is a KPI name of ``results.kpis.KPI_NAMES``, or a ``*_date`` name for a ``*_day``
  KPI (``last_delivery_date`` for ``last_delivery_day``) whose value is a calendar date;
- ``SELECTORS`` (optional) pick the KPI's row: ids of the scenario (an item, node or link,
  found by id) or ``item=ID``, ``node=ID``, ``link=ID``, comma separated; a KPI without a
  selector is the whole run's (or all items');
- ``OP`` is ``<=``, ``<``, ``>=`` or ``>``; ``VALUE`` a number, a percentage (``95%``) or,
  for a date, ``YYYY-MM-DD``.

A date is a whole calendar day: day ``t`` of a run (days from 00:00 of ``scenario.start``)
falls on ``start + floor(t)``, so ``<= 2025-08-31`` means ``t < (2025-08-31 - start) + 1``.

``evaluate`` orders the points by their parameter values (the first ``--param`` first) and
finds the smallest whose mean meets the target, and the smallest whose whole 95% CI does
("met with confidence"; a mean that meets it with a CI reaching past it is "met on the mean
only"). ``paired_gain`` is the paired difference of that point against a reference point
(the scenario's own values when the sweep holds them) over common replications.

Example:
    >>> import datetime as dt
    >>> t = parse_target("last_delivery_date <= 2025-08-31", dt.date(2025, 5, 1))
    >>> t.kpi, t.op, t.threshold
    ('last_delivery_day', '<', 123.0)
    >>> t.meets(122.99), t.meets(123.0)
    (True, False)
    >>> point_label({"links.rail.vehicles": 3, "nodes.hub.service_days": 0.25})
    'links.rail.vehicles=3, nodes.hub.service_days=0.25'
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from scenarios.errors import AidflowError

__all__ = [
    "BadTarget",
    "Gain",
    "PointValue",
    "Target",
    "TargetAnswer",
    "answer_lines",
    "base_values",
    "evaluate",
    "format_param",
    "paired_gain",
    "parse_target",
    "point_label",
    "reference_point",
    "rep_values",
]

OPS = ("<=", ">=", "<", ">")
"""Comparison operators a target may use (longest first, for parsing)."""
SELECTOR_KEYS = ("item", "node", "link")
"""Keys of a selector: the KPI table's scope columns."""


class BadTarget(AidflowError):
    """A ``--target`` that cannot be parsed or does not fit the scenario (exit 2)."""


# --------------------------------------------------------------------------- labels


def format_param(value: Any) -> str:
    """A parameter value as a label shows it: integers whole, floats with up to 6 significant digits.

    Example:
        >>> format_param(3), format_param(2.0), format_param(0.123456789), format_param("bilateral")
        ('3', '2', '0.123457', 'bilateral')
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return f"{value:g}"


def point_label(values: Mapping[str, Any]) -> str:
    """``path=value, ...`` in the order of ``values`` (the ``--param`` order)."""
    return ", ".join(f"{path}={format_param(v)}" for path, v in values.items())


def base_values(scenario: Any, paths: Sequence[str]) -> dict[str, Any]:
    """The scenario's own value at each dotted ``path`` (missing when a path does not reach one).

    Walks the scenario as ``scenarios.strategies`` does: a field name (or alias) at a mapping,
    an ``id``, a strategy ``name`` or an index at a list.
    """
    data = scenario.model_dump(by_alias=True, mode="python", exclude={"strategies"})
    out: dict[str, Any] = {}
    for path in paths:
        node: Any = data
        for seg in path.split("."):
            node = _child(node, seg)
            if node is None:
                break
        if node is not None and not isinstance(node, (dict, list)):
            out[path] = node
    return out


def _child(node: Any, seg: str) -> Any:
    if isinstance(node, dict):
        return node.get(seg)
    if isinstance(node, list):
        for child in node:
            if isinstance(child, dict) and seg in (child.get("id"), child.get("name")):
                return child
        if seg.isdigit() and int(seg) < len(node):
            return node[int(seg)]
    return None


# --------------------------------------------------------------------------- targets


@dataclass(frozen=True)
class Target:
    """A parsed ``--target``: a KPI row, an operator and a threshold in the KPI's units.

    A date target holds its day threshold (``op`` strict ``<`` or non-strict ``>=`` on days)
    and ``start``, the scenario's first date, to print days as dates.
    """

    text: str
    kpi: str
    op: str
    threshold: float
    item: str | None = None
    node: str | None = None
    link: str | None = None
    start: dt.date | None = None

    @property
    def is_date(self) -> bool:
        """The target compares a calendar date (``start`` is set)."""
        return self.start is not None

    @property
    def lower_is_better(self) -> bool:
        """The target is an upper bound (``<`` or ``<=``)."""
        return self.op in ("<", "<=")

    def meets(self, x: float | None) -> bool:
        """Whether the value ``x`` meets the target (None or NaN never does)."""
        if x is None or math.isnan(x):
            return False
        t = self.threshold
        return {"<=": x <= t, "<": x < t, ">=": x >= t, ">": x > t}[self.op]

    def scope(self) -> str:
        """The selector as ``[item=router]`` (empty for the whole run)."""
        parts = [f"{k}={v}" for k, v in (("item", self.item), ("node", self.node), ("link", self.link)) if v]
        return f"[{', '.join(parts)}]" if parts else ""

    def day_date(self, day: float) -> dt.date:
        """The calendar date of run day ``day`` (date targets only)."""
        assert self.start is not None
        return self.start + dt.timedelta(days=math.floor(day))


def _kpi_names() -> dict[str, str]:
    from results.kpis import KPI_NAMES

    return KPI_NAMES


def parse_target(text: str, start: dt.date, scenario: Any = None) -> Target:
    """Parse ``--target`` (see the module docstring); raise BadTarget naming the option.

    Args:
        text: the option's value, e.g. ``last_delivery_date[router] <= 2025-08-31``.
        start: the scenario's first date (day 0), for date targets.
        scenario: if given, bare selector ids are looked up in it (items, nodes, links) and
            every id must exist; without it a bare id is an item.
    """
    from scenarios.refs import did_you_mean

    where = f"--target {text!r}"
    m = re.fullmatch(
        r"\s*(?P<name>[A-Za-z_]\w*)\s*(\[(?P<sel>[^\]]*)\])?\s*(?P<op><=|>=|==|=|!=|<|>)\s*(?P<value>\S+)\s*", text
    )
    if not m:
        raise BadTarget(
            f"{where}: expected KPI[SELECTOR] OP VALUE, e.g. 'last_delivery_date[router] <= 2025-08-31' "
            "or 'fill_rate[router] >= 0.95'"
        )
    if m["op"] not in OPS:
        raise BadTarget(f"{where}: the operator must be one of {', '.join(OPS)} (got {m['op']!r})")
    names = _kpi_names()
    name, op, raw = m["name"], m["op"], m["value"]
    date_name = name.endswith("_date") and f"{name[: -len('_date')]}_day" in names
    kpi = f"{name[: -len('_date')]}_day" if date_name else name
    if kpi not in names:
        known = [*names, *(f"{k[: -len('_day')]}_date" for k in names if k.endswith("_day"))]
        raise BadTarget(f"{where}: unknown KPI {name!r}{did_you_mean(name, known)}")
    scope = _selectors(m["sel"], where, scenario)
    where_ = (scope.get("item"), scope.get("node"), scope.get("link"))
    when = _date(raw)
    if date_name and when is None:
        raise BadTarget(f"{where}: {name} takes a date YYYY-MM-DD (got {raw!r})")
    if when is not None:
        if not kpi.endswith("_day"):
            raise BadTarget(f"{where}: {name} is not a day KPI; a date compares only with a *_date KPI")
        day = float((when - start).days)
        # a date is the whole day [d, d+1): <= D is t < d+1, > D is t >= d+1
        op, threshold = {"<=": ("<", day + 1), "<": ("<", day), ">=": (">=", day), ">": (">=", day + 1)}[op]
        return Target(text.strip(), kpi, op, threshold, *where_, start=start)
    percent = raw.endswith("%")
    try:
        value = float(raw[:-1] if percent else raw.replace(",", ""))
    except ValueError:
        raise BadTarget(f"{where}: {raw!r} is not a number") from None
    if not math.isfinite(value):
        raise BadTarget(f"{where}: the value must be finite")
    return Target(text.strip(), kpi, op, value / 100 if percent else value, *where_)


def _date(raw: str) -> dt.date | None:
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw):
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        return None


def _selectors(sel: str | None, where: str, scenario: Any) -> dict[str, str]:
    from scenarios.refs import did_you_mean

    out: dict[str, str] = {}
    if sel is None:
        return out
    kinds: dict[str, list[str]] = {}
    if scenario is not None:
        kinds = {
            "item": [x.id for x in scenario.items],
            "node": [x.id for x in scenario.nodes],
            "link": [x.id for x in scenario.links],
        }
    for part in (p.strip() for p in sel.split(",")):
        if not part:
            raise BadTarget(f"{where}: empty selector; use [ID] or [item=ID], [node=ID], [link=ID]")
        key, _, ident = part.partition("=")
        if not ident:
            ident = key.strip()
            found = [k for k, ids in kinds.items() if ident in ids]
            if len(found) > 1:
                raise BadTarget(f"{where}: {ident!r} is a {' and a '.join(found)}; say {found[0]}={ident}")
            key = found[0] if found else ("item" if not kinds else "")
            if not key:
                every = [i for ids in kinds.values() for i in ids]
                raise BadTarget(f"{where}: no item, node or link {ident!r}{did_you_mean(ident, every)}")
        key, ident = key.strip(), ident.strip()
        if key not in SELECTOR_KEYS:
            raise BadTarget(f"{where}: selector key {key!r} must be item, node or link")
        if kinds and ident not in kinds[key]:
            raise BadTarget(f"{where}: no {key} {ident!r}{did_you_mean(ident, kinds[key])}")
        if key in out:
            raise BadTarget(f"{where}: {key} is selected twice")
        out[key] = ident
    return out


# --------------------------------------------------------------------------- evaluation


@dataclass(frozen=True)
class PointValue:
    """The target KPI at one point: its mean and 95% CI, and whether they meet the target."""

    point: int
    label: str
    values: tuple[Any, ...]
    mean: float | None
    low: float | None
    high: float | None
    meets: bool
    confident: bool


@dataclass(frozen=True)
class TargetAnswer:
    """Every point's value of the target KPI (smallest parameter values first) and the answer."""

    target: Target
    params: tuple[str, ...]
    points: list[PointValue] = field(default_factory=list)

    @property
    def first(self) -> PointValue | None:
        """The smallest point whose mean meets the target."""
        return next((p for p in self.points if p.meets), None)

    @property
    def first_confident(self) -> PointValue | None:
        """The smallest point whose whole 95% CI meets the target."""
        return next((p for p in self.points if p.confident), None)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready summary (the ``--format json`` output's ``target``)."""

        def brief(p: PointValue | None) -> dict[str, Any] | None:
            if p is None:
                return None
            return {"point": p.point, "point_label": p.label, "mean": p.mean, "ci95_low": p.low, "ci95_high": p.high}

        t = self.target
        return {
            "text": t.text,
            "kpi": t.kpi,
            "item": t.item,
            "node": t.node,
            "link": t.link,
            "op": t.op,
            "threshold": t.threshold,
            "met": self.first is not None,
            "smallest": brief(self.first),
            "smallest_with_confidence": brief(self.first_confident),
        }


def _finite(x: Any) -> float | None:
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else float(x)


def evaluate(rows: Iterable[Mapping[str, Any]], params: Sequence[str], target: Target) -> TargetAnswer:
    """The target KPI at every point of a sweep table, smallest parameter values first.

    Args:
        rows: ``sweep.parquet`` rows: ``point``, one column per parameter, ``kpi``, ``item``,
            ``node``, ``link``, ``mean``, ``ci95_low``, ``ci95_high`` (``point_label`` if present).
        params: the swept paths in ``--param`` order (the order that decides "smallest").
        target: the parsed target.
    """
    picked: dict[int, Mapping[str, Any]] = {}
    labels: dict[int, tuple[str, tuple[Any, ...]]] = {}
    for r in rows:
        k = int(r["point"])
        values = tuple(r[p] for p in params)
        labels.setdefault(k, (r.get("point_label") or point_label(dict(zip(params, values, strict=True))), values))
        if (r["kpi"], r.get("item"), r.get("node"), r.get("link")) == (
            target.kpi,
            target.item,
            target.node,
            target.link,
        ):
            picked[k] = r
    out: list[PointValue] = []
    for k, (label, values) in labels.items():
        r = picked.get(k, {})
        mean, lo, hi = _finite(r.get("mean")), _finite(r.get("ci95_low")), _finite(r.get("ci95_high"))
        meets = target.meets(mean)
        bound = hi if target.lower_is_better else lo
        out.append(PointValue(k, label, values, mean, lo, hi, meets, meets and target.meets(bound)))
    out.sort(key=lambda p: (tuple(_sort_key(v) for v in p.values), p.point))
    return TargetAnswer(target, tuple(params), out)


def _sort_key(v: Any) -> tuple[int, Any]:
    return (0, v) if isinstance(v, (int, float)) and not isinstance(v, bool) else (1, str(v))


# --------------------------------------------------------------------------- paired gain


@dataclass(frozen=True)
class Gain:
    """The paired difference ``reference - point`` of the target KPI over common replications."""

    reference: PointValue
    point: PointValue
    mean: float
    low: float | None
    high: float | None
    n: int
    is_base: bool = False
    """The reference is at the scenario's own parameter values."""


def rep_values(kpis: Any, target: Target) -> dict[int, dict[int, float]]:
    """Per point, per replication: the target KPI's value, from a KPI table (``kpis.parquet``).

    The point is read from the part label ``<strategy>-ptNNN``; null values are left out.
    """
    cols = {c: kpis.column(c).to_pylist() for c in ("kpi", "item", "node", "link", "value", "strategy", "replication")}
    want = (target.kpi, target.item, target.node, target.link)
    out: dict[int, dict[int, float]] = {}
    for kpi, item, node, link, value, strategy, rep in zip(*cols.values(), strict=True):
        if (kpi, item, node, link) != want or value is None or "-pt" not in str(strategy):
            continue
        try:
            point = int(str(strategy).rsplit("-pt", 1)[1])
        except ValueError:
            continue
        if not math.isnan(value):
            out.setdefault(point, {})[int(rep)] = float(value)
    return out


def reference_point(answer: TargetAnswer, base: Mapping[str, Any]) -> tuple[PointValue | None, bool]:
    """The point at the scenario's own values (``base_values``) and True, else the smallest point and False."""
    for p in answer.points:
        if all(p_path in base and _same(base[p_path], v) for p_path, v in zip(answer.params, p.values, strict=True)):
            return p, True
    return (answer.points[0] if answer.points else None), False


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return math.isclose(float(a), float(b), rel_tol=1e-12, abs_tol=1e-12)
    return bool(a == b)


def paired_gain(
    per_point: Mapping[int, Mapping[int, float]],
    reference: PointValue,
    point: PointValue,
    is_base: bool = False,
    level: float = 0.95,
) -> Gain | None:
    """``reference - point`` of the target KPI, paired by replication, with a Student-t interval.

    None when the two points share no replication with a value. The interval is None below
    two pairs.
    """
    a, b = per_point.get(reference.point, {}), per_point.get(point.point, {})
    diffs = [a[r] - b[r] for r in sorted(set(a) & set(b))]
    if not diffs:
        return None
    n = len(diffs)
    mean = sum(diffs) / n
    if n < 2:
        return Gain(reference, point, mean, None, None, n, is_base)
    from scipy.special import stdtrit

    sd = math.sqrt(sum((d - mean) ** 2 for d in diffs) / (n - 1))
    half = float(stdtrit(n - 1, 0.5 + level / 2)) * sd / math.sqrt(n)
    return Gain(reference, point, mean, mean - half, mean + half, n, is_base)


# --------------------------------------------------------------------------- text


def show(target: Target, x: float | None) -> str:
    """A value of the target's KPI as text: a date for date targets, else by the KPI's kind."""
    if x is None or math.isnan(x):
        return "–"
    if target.is_date:
        return target.day_date(x).isoformat()
    from results.fmt import value

    return value(target.kpi, x)


def _ci(target: Target, p: PointValue) -> str:
    if p.low is None or p.high is None:
        return "no CI (one replication)"
    return f"95% CI [{show(target, p.low)}, {show(target, p.high)}]"


def describe(target: Target) -> str:
    """What the target compares, in the KPI's own terms (run days from ``start`` for dates).

    Example:
        >>> describe(parse_target("last_delivery_date[router] <= 2025-08-31", dt.date(2025, 5, 1)))
        'last_delivery_day[item=router] < 123 (run days from 2025-05-01)'
    """
    base = f"{target.kpi}{target.scope()} {target.op} {format_param(target.threshold)}"
    if target.start is not None:
        return f"{base} (run days from {target.start.isoformat()})"
    return base


def answer_lines(
    answer: TargetAnswer, gain: Gain | None = None, fill_rates: Mapping[int, float | None] | None = None
) -> list[str]:
    """The answer as lines of text: the smallest point, its verdict, and the gain against the reference.

    Args:
        answer: ``evaluate``'s answer.
        gain: ``paired_gain`` of the smallest point against the reference point.
        fill_rates: mean ``fill_rate`` (of the target's item) per point: a ``last_delivery``
            target at a point that did not deliver everything gets a note, since the last
            delivery counts delivered units only.
    """
    t = answer.target
    lines = [f"Target: {t.text}"]
    if t.is_date:
        lines.append(f"  that is {describe(t)}")
    first, sure = answer.first, answer.first_confident
    valued = [p for p in answer.points if p.mean is not None]
    if not valued:
        lines.append(f"  no point meets the target: no point has a value of {t.kpi}{t.scope()}")
        return lines
    if first is None:
        best = min(valued, key=lambda p: (p.mean or 0.0) * (1 if t.lower_is_better else -1))
        lines.append(f"  no point meets the target; the closest is {best.label} (point {best.point})")
        lines.append(f"    mean {show(t, best.mean)}, {_ci(t, best)}")
        return lines
    verdict = "met with confidence" if first.confident else "met on the mean only"
    lines.append(f"  smallest: {first.label} (point {first.point}), {verdict}")
    lines.append(f"    mean {show(t, first.mean)}, {_ci(t, first)}")
    if not first.confident:
        if sure is not None:
            lines.append(f"  met with confidence from {sure.label} (point {sure.point})")
            lines.append(f"    mean {show(t, sure.mean)}, {_ci(t, sure)}")
        else:
            lines.append("  no point meets it with confidence (every 95% CI reaches past the target)")
    later = [p.label for p in answer.points[answer.points.index(first) + 1 :] if not p.meets]
    if later and len(answer.params) == 1:
        lines.append(f"  note: some larger values miss it on the mean: {'; '.join(later)}")
    fill = (fill_rates or {}).get(first.point)
    if t.kpi.startswith("last_delivery") and fill is not None and fill < 1:
        lines.append(f"  note: {fill:.1%} of the required units delivered by the horizon at this point;")
        lines.append("    the last delivery counts delivered units only")
    if gain is not None and gain.reference.point != first.point:
        lines.extend(_gain_lines(t, gain))
    return lines


def _gain_lines(t: Target, g: Gain) -> list[str]:
    paired = f"paired over {g.n} replications"
    ref = f"the scenario's {g.reference.label}" if g.is_base else g.reference.label
    a, b = g.reference.values, g.point.values
    if len(a) == 1 and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (*a, *b)):
        ref += f" ({'+' if b[0] >= a[0] else ''}{format_param(b[0] - a[0])})"
    if t.kpi.endswith("_day"):
        sign, word = (1.0, "earlier") if g.mean >= 0 else (-1.0, "later")
        lo, hi = (
            (g.low, g.high) if sign > 0 else (None if g.high is None else -g.high, None if g.low is None else -g.low)
        )
        ci = "no CI (one replication)" if lo is None or hi is None else f"95% CI [{lo:.1f}, {hi:.1f}] days {word}"
        return [f"  vs {ref}: {sign * g.mean:.1f} days {word}", f"    {ci}, {paired}"]
    from results.fmt import value

    if g.low is None or g.high is None:
        ci = "no CI (one replication)"
    else:
        ci = f"95% CI [{value(t.kpi, -g.high, difference=True)}, {value(t.kpi, -g.low, difference=True)}]"
    return [f"  vs {ref}: {value(t.kpi, -g.mean, difference=True)}", f"    {ci}, {paired}"]
