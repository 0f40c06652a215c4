"""Lots by route (issue 15): which way each delivered lot went, for the report's Sankey by route.

A lot's *route* is the chain of nodes it passed: its supplier (``lot_produced``), then each node
it ``arrived`` at, the last being the unit it was ``delivered`` to. Only delivered lots count
(a lost lot never finished a route). ``RouteFlows`` adds up lots and units per route over
record batches in ``seq`` order, keeping only the chain of each lot still on its way (memory:
the lots in the network). Under ``routing.policy: static`` every lot of a (supplier, unit)
pair takes the same route; under ``on_departure`` diverted lots show as routes of their own.

Example:
    >>> import pyarrow as pa
    >>> t = pa.table({"kind": ["lot_produced", "arrived", "arrived", "delivered"], "lot": [0, 0, 0, 0],
    ...               "node": ["s", "h", "u", "u"], "qty": [10, 10, 10, 10]})
    >>> f = RouteFlows(); f.feed(t); f.routes
    {('s', 'h', 'u'): [1, 10]}
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa

__all__ = ["RouteFlows", "route_flows_of_run"]

_COLUMNS = ("kind", "lot", "node", "qty")
_KINDS = ("lot_produced", "arrived", "delivered", "lost")


class RouteFlows:
    """Lots and units delivered per route (chain of node ids), fed record batches in ``seq`` order."""

    def __init__(self) -> None:
        self.routes: dict[tuple[str, ...], list[int]] = {}
        """route (node ids) -> [lots, units] delivered along it."""
        self._way: dict[int, list[str]] = {}

    def feed(self, batch: pa.RecordBatch | pa.Table) -> None:
        """Rows of one part, in ``seq`` order (columns ``kind``, ``lot``, ``node``, ``qty``)."""
        kind = np.asarray(batch.column("kind").cast(pa.string()).to_numpy(zero_copy_only=False), dtype=object)
        keep = np.flatnonzero(np.isin(kind, _KINDS))
        if not len(keep):
            return
        idx = pa.array(keep)
        lots = batch.column("lot").take(idx).to_pylist()
        nodes = batch.column("node").take(idx).cast(pa.string()).to_pylist()
        qtys = batch.column("qty").take(idx).fill_null(0).to_pylist()
        way = self._way
        for k, lot, node, q in zip(kind[keep].tolist(), lots, nodes, qtys, strict=True):
            if lot is None or lot < 0:
                continue
            if k == "lot_produced":
                way[lot] = [node or "?"]
            elif k == "arrived":
                w = way.get(lot)
                if w is not None and (not w or w[-1] != node):
                    w.append(node or "?")
            elif k == "delivered":
                w = way.pop(lot, None)
                if w is not None:
                    if w[-1] != node:
                        w.append(node or "?")
                    acc = self.routes.setdefault(tuple(w), [0, 0])
                    acc[0] += 1
                    acc[1] += int(q or 0)
            else:  # lost: no route finished
                way.pop(lot, None)


def route_flows_of_run(run_dir: str | Path, strategy: str, reps: list[int]) -> dict[tuple[str, ...], list[float]]:
    """Per route, [lots, units] delivered per replication (mean over ``reps``) of one strategy."""
    from results.store.reading import iter_event_batches

    total: dict[tuple[str, ...], list[float]] = {}
    for rep in reps:
        f = RouteFlows()
        for batch in iter_event_batches(run_dir, strategy, rep, columns=_COLUMNS):
            f.feed(batch)
        for route, (lots, units) in f.routes.items():
            acc = total.setdefault(route, [0.0, 0.0])
            acc[0] += lots
            acc[1] += units
    n = max(1, len(reps))
    return {r: [v[0] / n, v[1] / n] for r, v in sorted(total.items(), key=lambda kv: -kv[1][0])}
