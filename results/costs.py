"""Money from the log: what a run cost, who paid, what is left, and pledges kept.

Functions of one replication's event arrays (``results.kpis.event_arrays``) and the
resolved scenario; ``results.kpis.compute_kpis`` adds the money KPIs to its table, fed chunk
by chunk through ``CostKpis``. Only the
rows of a few kinds are read: ``contract_awarded``, ``fee_charged``, ``departed``,
``loaded``, ``delivered``, ``requirement_opened``, ``budget_added``, ``funds_committed``,
``funds_released``. A kind the engine does not log (an older log) counts as no rows.

Definitions (EUR):

- **contract value**: the sum of ``contract_awarded.value`` (qty x unit price, fee excluded);
- **agency fees**: the sum of ``fee_charged.value``;
- **transport cost**: each ``departed`` row (one trip) costs its link's
  ``cost_per_trip_eur + cost_per_km_eur * distance_km``;
- **total cost** = contract value + fees + transport cost;
- **per item and channel**: contracts and fees by their row's item and requirement (the
  requirement's effective channel, ``scenarios.schema.effective_channel``); a link's
  transport cost is shared among the requirements whose lots it loaded, in proportion to
  their volume (units x ``volume_m3``) loaded on it;
- **EUR per delivered unit** = total cost / units delivered (the cost of units lost or not
  yet delivered included: it is what a delivered unit cost the donors);
- **per donor**: ``budget_added_eur`` (opening budget and tranches), ``budget_committed_eur``
  (sum of ``funds_committed``), ``budget_released_eur`` (sum of ``funds_released``),
  ``budget_spent_eur`` (each requirement's contracts plus fees, shared among its donors in
  proportion to what each committed net of releases), ``budget_left_eur`` = added −
  committed + released. ``donor_budget_series`` gives the same over time.
- **pledges** (``scenarios.pledges``): ``pledged_units``, ``pledged_units_on_time`` (units
  delivered to the pledge's requirements by the end of its ``deliver_by`` date, at most its
  ``qty``) and ``pledge_on_time_share`` — over all pledges, per item and per donor (node).

Requirement streams: an arrival's requirement (a ref past the scenario's list) takes the
channel of the one stream of its (unit, item); with several such streams it has no channel
(its costs count in the totals and per item, not per channel).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from results.kpis.levels import KEY_SHIFT, KeyedSums, grow, pair_key
from scenarios.schema import Donor, Scenario, due_day, effective_channel
from sim.events import KIND_CODE

if TYPE_CHECKING:
    from results.kpis.arrays import EventArrays

__all__ = ["CHANNELS", "COST_KPI_NAMES", "CostKpis", "cost_kpis", "donor_budget_series", "requirement_channels"]

CHANNELS: tuple[str, ...] = ("agency", "bilateral", "domestic")
"""Procurement channels, in the order KPIs name them."""

_MISSING = -99  # a kind code no row has

COST_KPI_NAMES: dict[str, str] = {
    "contract_value_eur": "EUR under contract (contract_awarded, fee excluded)",
    "agency_fees_eur": "EUR of agency fees (fee_charged)",
    "transport_cost_eur": "EUR of transport: trips (departed) x the link's cost per trip (+ per km x distance)",
    "total_cost_eur": "contract value + agency fees + transport cost",
    "cost_per_delivered_unit_eur": "total cost / units delivered",
    **{f"total_cost_eur_{c}": f"total cost of the {c} channel's requirements" for c in CHANNELS},
    **{f"cost_per_delivered_unit_eur_{c}": f"total cost / units delivered, {c} channel" for c in CHANNELS},
    "budget_released_eur": "EUR given back to the donor (funds_released)",
    "budget_spent_eur": "the donor's share of its requirements' contracts plus fees",
    "pledged_units": "units pledged",
    "pledged_units_on_time": "pledged units delivered by the end of the pledge's deliver_by date (at most qty)",
    "pledge_on_time_share": "pledged_units_on_time / pledged_units",
}
"""KPI names added by ``cost_kpis`` (``results.kpis.KPI_NAMES`` includes them)."""


def _rows(ev: EventArrays, kind: str) -> np.ndarray:
    return ev.of(KIND_CODE.get(kind, _MISSING))


class _Channels:
    """Channel index (into ``CHANNELS``) per requirement ref, growing as arrivals open requirements."""

    def __init__(self, s: Scenario) -> None:
        self.n_req = len(s.requirements)
        self.ch = np.array([CHANNELS.index(effective_channel(s, r)) for r in s.requirements], dtype=np.int64)
        self.max_ref = -1
        self.streams: dict[tuple[str, str], list[int]] = {}
        for r in s.requirements:
            if r.stream is not None:
                self.streams.setdefault((r.unit, r.item), []).append(CHANNELS.index(effective_channel(s, r)))

    def add(self, ev: EventArrays) -> None:
        if len(ev):
            self.max_ref = max(self.max_ref, int(ev.ref.max()))
        self.ch = grow(self.ch, self.max_ref + 1, -1)
        op = _rows(ev, "requirement_opened")
        op = op[ev.ref[op] >= self.n_req]
        for row in op.tolist():
            key = (ev.nodes[ev.node[row]], ev.items[ev.item[row]]) if ev.node[row] >= 0 and ev.item[row] >= 0 else None
            found = self.streams.get(key, []) if key is not None else []
            if len(set(found)) == 1:
                self.ch[ev.ref[row]] = found[0]

    def result(self) -> np.ndarray:
        n_ref = max(self.n_req, self.max_ref + 1)
        return grow(self.ch, n_ref, -1)[:n_ref].copy()


def requirement_channels(ev: EventArrays, s: Scenario) -> np.ndarray:
    """Channel index (into ``CHANNELS``) of every requirement ref of the log, -1 if unknown.

    Length: one past the largest ref of the log (at least the scenario's requirements).
    """
    ch = _Channels(s)
    ch.add(ev)
    return ch.result()


def _decode(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``results.kpis.levels.pair_key`` back to ``(major, minor)``."""
    return keys // KEY_SHIFT, keys % KEY_SHIFT - 1


class CostKpis:
    """Money KPIs of one replication, fed chunk by chunk (``results.kpis.stream``).

    Sums are kept per (requirement, item), per (link, requirement, item) volume loaded and per
    (requirement, donor) net commitment, so channels (known once a requirement is opened)
    and shares of a link's cost (known once every trip is counted) are applied at the end.

    Args:
        s: The resolved scenario (its item, node and link codes are the scenario's positions).
    """

    def __init__(self, s: Scenario) -> None:
        self.s = s
        self.channels = _Channels(s)
        self.by_ref_item = KeyedSums(3)  # (ref, item) -> contract EUR, fees EUR, units delivered
        self.link_vol: dict[int, KeyedSums] = {}  # link -> (ref, item) -> m3 loaded
        self.trips = np.zeros(0)
        self.released = np.zeros(0)
        self.net = KeyedSums(1)  # (ref, donor) -> committed - released EUR
        self.delivered = 0.0
        req_index = {r.id: i for i, r in enumerate(s.requirements)}
        self.pledge_refs = [
            np.array([req_index[r] for r in p.requirements if r in req_index], dtype=np.int64) for p in s.pledges
        ]
        self.pledge_on_time = np.zeros(len(s.pledges))

    def add(self, ev: EventArrays) -> None:
        """One chunk."""
        s = self.s
        self.channels.add(ev)
        ca, fc, dl = _rows(ev, "contract_awarded"), _rows(ev, "fee_charged"), _rows(ev, "delivered")
        rows = np.concatenate([ca, fc, dl])
        w = np.zeros((len(rows), 3))
        w[: len(ca), 0] = np.nan_to_num(ev.value[ca])
        w[len(ca) : len(ca) + len(fc), 1] = np.nan_to_num(ev.value[fc])
        w[len(ca) + len(fc) :, 2] = ev.qty[dl]
        self.by_ref_item.add(pair_key(ev.ref[rows], ev.item[rows]), w)
        self.delivered += float(ev.qty[dl].sum())

        dep = _rows(ev, "departed")
        dep = dep[ev.link[dep] >= 0]
        if len(dep):
            self.trips = grow(self.trips, int(ev.link[dep].max()) + 1, 0.0)
            self.trips += np.bincount(ev.link[dep], minlength=len(self.trips))[: len(self.trips)]
        ld = _rows(ev, "loaded")
        ld = ld[ev.link[ld] >= 0]
        vol_of = np.array([it.volume_m3 for it in s.items] + [0.0] * (len(ev.items) - len(s.items)) + [0.0])
        vol = ev.qty[ld] * vol_of[ev.item[ld]]
        for c in np.unique(ev.link[ld]).tolist():
            m = ev.link[ld] == c
            self.link_vol.setdefault(c, KeyedSums(1)).add(pair_key(ev.ref[ld][m], ev.item[ld][m]), vol[m])

        fcm, frl = _rows(ev, "funds_committed"), _rows(ev, "funds_released")
        keep = ev.node[frl] >= 0
        if np.any(keep):
            self.released = grow(self.released, int(ev.node[frl][keep].max()) + 1, 0.0)
            m, by = len(self.released), ev.node[frl][keep]
            self.released += np.bincount(by, weights=np.nan_to_num(ev.value[frl][keep]), minlength=m)[:m]
        rows = np.concatenate([fcm, frl])
        sign = np.concatenate([np.ones(len(fcm)), -np.ones(len(frl))])
        ok = (ev.ref[rows] >= 0) & (ev.node[rows] >= 0)
        self.net.add(pair_key(ev.ref[rows][ok], ev.node[rows][ok]), (sign * np.nan_to_num(ev.value[rows]))[ok])

        for k, p in enumerate(s.pledges):
            d = dl[np.isin(ev.ref[dl], self.pledge_refs[k])]
            by = due_day(s.day_of(p.deliver_by))
            self.pledge_on_time[k] += float(ev.qty[d][ev.t[d] <= by + 1e-9].sum())

    def result(self, items: list[str], put: Callable[..., None]) -> None:
        """Put the money KPIs (see the module docstring); ``items``: names of the item codes."""
        s = self.s
        n_items = len(items)
        ch_of = self.channels.result()
        n_ref = len(ch_of)

        def ref_channel(refs: np.ndarray) -> np.ndarray:
            ok = (refs >= 0) & (refs < n_ref)
            out = np.full(len(refs), -1, dtype=np.int64)
            out[ok] = ch_of[refs[ok]]
            return out

        def by_item(it: np.ndarray, w: np.ndarray) -> np.ndarray:
            keep = it >= 0
            return np.bincount(it[keep], weights=w[keep], minlength=n_items)[:n_items]

        def by_item_channel(refs: np.ndarray, it: np.ndarray, w: np.ndarray) -> np.ndarray:
            """(len(CHANNELS), n_items) sums; rows without channel or item are left out."""
            ch = ref_channel(refs)
            keep = (ch >= 0) & (it >= 0)
            flat = np.bincount(ch[keep] * n_items + it[keep], weights=w[keep], minlength=len(CHANNELS) * n_items)
            return flat[: len(CHANNELS) * n_items].reshape(len(CHANNELS), n_items)

        ref, item = _decode(self.by_ref_item.keys)
        ca_v, fc_v, dl_q = self.by_ref_item.sums.T
        trip_cost = np.array([lk.trip_cost_eur() for lk in s.links])
        n_links = len(trip_cost)
        per_link = grow(self.trips, n_links, 0.0)[:n_links] * trip_cost
        ld_ref, ld_item, ld_cost = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)], [np.zeros(0)]
        for c, vols in self.link_vol.items():
            total = float(vols.sums[:, 0].sum())
            cost = per_link[c] if c < n_links else 0.0
            r, i = _decode(vols.keys)
            ld_ref.append(r)
            ld_item.append(i)
            ld_cost.append(vols.sums[:, 0] / total * cost if total > 0 else np.zeros(len(r)))
        lr, li, lc = np.concatenate(ld_ref), np.concatenate(ld_item), np.concatenate(ld_cost)

        contract, fees, transport = float(ca_v.sum()), float(fc_v.sum()), float(per_link.sum())
        total = contract + fees + transport
        delivered = self.delivered
        put("contract_value_eur", contract)
        put("agency_fees_eur", fees)
        put("transport_cost_eur", transport)
        put("total_cost_eur", total)
        put("cost_per_delivered_unit_eur", total / delivered if delivered > 0 else None)

        it_contract, it_fees, it_transport = by_item(item, ca_v), by_item(item, fc_v), by_item(li, lc)
        it_delivered = by_item(item, dl_q)
        for k, it in enumerate(s.items):
            cost = it_contract[k] + it_fees[k] + it_transport[k]
            put("contract_value_eur", it_contract[k], it.id)
            put("agency_fees_eur", it_fees[k], it.id)
            put("transport_cost_eur", it_transport[k], it.id)
            put("total_cost_eur", cost, it.id)
            put("cost_per_delivered_unit_eur", cost / it_delivered[k] if it_delivered[k] > 0 else None, it.id)

        ch_cost = by_item_channel(ref, item, ca_v + fc_v) + by_item_channel(lr, li, lc)
        ch_delivered = by_item_channel(ref, item, dl_q)
        used = sorted({int(c) for c in ch_of.tolist() if c >= 0})
        pairs = {(CHANNELS.index(effective_channel(s, r)), r.item) for r in s.requirements}
        for c in used:
            name = CHANNELS[c]
            cost_all, units_all = float(ch_cost[c].sum()), float(ch_delivered[c].sum())
            put(f"total_cost_eur_{name}", cost_all)
            put(f"cost_per_delivered_unit_eur_{name}", cost_all / units_all if units_all > 0 else None)
            for k, it in enumerate(s.items):
                if (c, it.id) not in pairs:
                    continue
                u = ch_delivered[c, k]
                put(f"cost_per_delivered_unit_eur_{name}", ch_cost[c, k] / u if u > 0 else None, it.id)

        for c, lk in enumerate(s.links):
            if lk.enabled:
                put("transport_cost_eur", per_link[c], link=lk.id)

        self._donor_kpis(ref, ca_v + fc_v, put)
        self._pledge_kpis(put)

    def _donor_kpis(self, ref: np.ndarray, cost_w: np.ndarray, put: Callable[..., None]) -> None:
        s = self.s
        n_nodes = len(s.nodes)
        released = grow(self.released, n_nodes, 0.0)
        # spent: each requirement's contracts + fees, shared by its donors' net commitments
        spent: np.ndarray = np.zeros(max(n_nodes, len(released)))
        r, d = _decode(self.net.keys)
        v = self.net.sums[:, 0]
        if len(r):
            n_ref = int(max(r.max(initial=-1), ref.max(initial=-1))) + 1
            ok = ref >= 0
            cost = np.bincount(ref[ok], weights=cost_w[ok], minlength=n_ref)[:n_ref]
            net_ref = np.bincount(r, weights=v, minlength=n_ref)[:n_ref]
            with np.errstate(invalid="ignore", divide="ignore"):
                frac = np.where(net_ref[r] > 0, v / np.where(net_ref > 0, net_ref, 1.0)[r], 0.0)
            spent = np.bincount(d, weights=frac * cost[r], minlength=len(spent))
        for c, n in enumerate(s.nodes):
            if isinstance(n, Donor):
                put("budget_released_eur", released[c], node=n.id)
                put("budget_spent_eur", spent[c], node=n.id)

    def _pledge_kpis(self, put: Callable[..., None]) -> None:
        s = self.s
        if not s.pledges:
            return
        groups: dict[tuple[str | None, str | None], list[float]] = {}  # (item, donor) -> [qty, on time]
        for p, on_time in zip(s.pledges, self.pledge_on_time.tolist(), strict=True):
            qty, ok = float(p.qty), min(float(p.qty), on_time)
            for key in ((None, None), (p.item, None), (None, p.donor)):
                g = groups.setdefault(key, [0.0, 0.0])
                g[0] += qty
                g[1] += ok
        for (item_id, donor_id), (qty, ok) in groups.items():
            put("pledged_units", qty, item=item_id, node=donor_id)
            put("pledged_units_on_time", ok, item=item_id, node=donor_id)
            put("pledge_on_time_share", ok / qty if qty > 0 else None, item=item_id, node=donor_id)


def cost_kpis(ev: EventArrays, s: Scenario, put: Callable[..., None]) -> None:
    """Put the money KPIs of one replication (see the module docstring) through ``put``.

    ``put(kpi, value, item=None, node=None, link=None)`` as in ``results.kpis.compute_kpis``;
    ``ev`` is built for ``s`` (its item, node and link codes are the scenario's positions).
    The whole table as one chunk of ``CostKpis``.
    """
    acc = CostKpis(s)
    acc.add(ev)
    acc.result(ev.items, put)


def donor_budget_series(table: Any, scenario: Scenario | None = None) -> pa.Table:
    """Each donor's money over time: one row per ``budget_added``/``funds_committed``/``funds_released`` row.

    Columns: ``t``, ``donor``, and the donor's running totals after that row:
    ``added_eur`` (budget plus tranches received), ``committed_eur``, ``released_eur``,
    ``net_committed_eur`` (committed − released, the burn-down's spent line) and
    ``left_eur`` (added − net committed).

    Example:
        >>> from scenarios.load import load
        >>> from sim.run import run
        >>> s = load("scenarios/small_routers.yaml")
        >>> b = donor_budget_series(run(s)[0].table(), s)
        >>> b.column_names[:3]
        ['t', 'donor', 'added_eur']
    """
    from results.kpis.arrays import event_arrays

    ev = table if hasattr(table, "of") else event_arrays(table, scenario)
    ba, fcm, frl = _rows(ev, "budget_added"), _rows(ev, "funds_committed"), _rows(ev, "funds_released")
    rows = np.sort(np.concatenate([ba, fcm, frl]))
    rows = rows[ev.node[rows] >= 0]
    kind = ev.kind[rows]
    v = np.nan_to_num(ev.value[rows])
    cols = {}
    for name, code in (
        ("added_eur", "budget_added"),
        ("committed_eur", "funds_committed"),
        ("released_eur", "funds_released"),
    ):
        cols[name] = np.where(kind == KIND_CODE.get(code, _MISSING), v, 0.0)
    donor = ev.node[rows]
    out: dict[str, np.ndarray] = {k: np.zeros(len(rows)) for k in cols}
    order = np.argsort(donor, kind="stable")  # rows stay in seq order within a donor
    ds = donor[order]
    new = np.r_[True, ds[1:] != ds[:-1]] if len(ds) else np.zeros(0, dtype=bool)
    for name, x in cols.items():
        xs = x[order]
        cs = np.cumsum(xs)
        base = (cs - xs)[new][np.cumsum(new) - 1] if len(xs) else cs
        out[name][order] = cs - base
    net = out["committed_eur"] - out["released_eur"]
    names = [ev.nodes[c] for c in donor.tolist()]
    return pa.table(
        {
            "t": pa.array(ev.t[rows], type=pa.float64()),
            "donor": pa.array(names, type=pa.string()),
            "added_eur": pa.array(out["added_eur"]),
            "committed_eur": pa.array(out["committed_eur"]),
            "released_eur": pa.array(out["released_eur"]),
            "net_committed_eur": pa.array(net),
            "left_eur": pa.array(out["added_eur"] - net),
        }
    )
