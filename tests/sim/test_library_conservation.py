"""Conservation of units under every library scenario and every strategy, proved from the log on disk.

A strategy is a decision a planner can take; the stock that exists at the start of a run is a
fact of the world, declared once in the base scenario. So, per item and per run
(``scenarios/*.yaml`` x baseline and every strategy, replication 0, read back from a run
directory):

    consumed + held at the units at the end  <=  came out of a supplier + declared unit stock

- *consumed*: ``consumed`` rows of the log;
- *held at the units*: the units' stock at the end of the run, rebuilt from the log by
  ``results.replay`` (it starts from the run's own initial stock, so a strategy that raises
  it shows up here);
- *came out of a supplier*: ``lot_produced`` rows (a lot a line made, or one drawn from the
  supplier's declared stock);
- *declared unit stock*: ``initial_stock`` of the units and depots in the **base** scenario.

Two more links of the chain: every unit that reached a unit (``delivered``) or was lost
(``lost``) came out of a supplier, and no strategy declares more supplier stock than the base
(the log cannot tell a made unit from a stocked one, so that part is checked on the scenario).
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pyarrow as pa
import pytest

from results.replay import Replay, load_run_scenario
from results.store.reading import read_events
from scenarios.load import load
from scenarios.schema import Scenario
from tests.rundirs import make_run_dir

ROOT = Path(__file__).resolve().parents[2]
FILES = sorted((ROOT / "scenarios").glob("*.yaml"))
CASES = [(f.stem, st) for f in FILES for st in ["baseline", *(x.name for x in load(f).strategies)]]


def _sums(table: pa.Table, kind: str) -> dict[str, int]:
    d = table.select(["kind", "item", "qty"]).to_pydict()
    out: dict[str, int] = defaultdict(int)
    for k, item, q in zip(d["kind"], d["item"], d["qty"], strict=True):
        if k == kind:
            out[item] += int(q or 0)
    return out


def _unit_stock(s: Scenario) -> dict[str, int]:
    out: dict[str, int] = defaultdict(int)
    for n in s.nodes:
        if n.kind in ("unit", "depot"):  # a depot's declared stock (issue 14) reaches the units too
            for item, q in n.initial_stock.items():
                out[item] += q
    return out


def _supplier_stock(s: Scenario) -> dict[str, int]:
    out: dict[str, int] = defaultdict(int)
    for n in s.nodes:
        if n.kind == "supplier":
            for p in n.products:
                out[p.item] += p.initial_stock
    return out


@pytest.mark.parametrize(("name", "strategy"), CASES, ids=[f"{n}-{s}" for n, s in CASES])
def test_every_unit_held_or_consumed_was_produced_or_declared(name: str, strategy: str, tmp_path: Path) -> None:
    base = load(ROOT / "scenarios" / f"{name}.yaml")
    root = make_run_dir(tmp_path / "run", base, (strategy,), reps=1)
    table = read_events(root, strategy, 0)
    resolved = load_run_scenario(root, strategy)
    assert resolved is not None
    end = Replay(table, resolved).end()

    produced = _sums(table, "lot_produced")
    delivered = _sums(table, "delivered")
    lost = _sums(table, "lost")
    consumed = _sums(table, "consumed")
    held: dict[str, int] = defaultdict(int)
    for key, q in end.stock.items():
        held[key.partition("/")[2]] += q
    declared = _unit_stock(base)
    declared_at_suppliers = _supplier_stock(base)
    by_strategy_at_suppliers = _supplier_stock(resolved)

    for it in base.items:
        i = it.id
        assert delivered[i] + lost[i] <= produced[i], (i, delivered[i], lost[i], produced[i])
        assert by_strategy_at_suppliers[i] <= declared_at_suppliers[i], (i, "supplier stock raised by the strategy")
        out_of_nowhere = consumed[i] + held[i] - (produced[i] + declared[i])
        assert out_of_nowhere <= 0, (
            f"{name}/{strategy}: {out_of_nowhere:,} {i} consumed or held at the units were never "
            f"produced nor declared (consumed {consumed[i]:,}, held {held[i]:,}, produced {produced[i]:,}, "
            f"declared at units {declared[i]:,})"
        )
