"""State at time t and lineage of a lot or requirement, rebuilt from the event log alone.

The package by concept: ``state`` (the state's data classes and ``ReplayError``), ``columns``
(reading the log), ``fold`` (rows applied in order: ``Replay``, ``state_at``), ``verify``
(``verify_run`` against the engine), ``lineage`` (a lot's or requirement's history) and
``timeline`` (the lineage's data classes). Its names are re-exported here.

The event log is the truth (design.md section 3): this package folds its rows, in ``seq`` order,
into the state of the supply chain, and never looks at the engine. Three uses:

- ``state_at(log, t)`` — every node's queue and work in progress, every vehicle's position and
  load, stock per unit and item, open requirements and contracts, budget per donor and the
  disruptions in force, *after* every row with ``t_row <= t``. ``Replay`` does the same for
  many instants of one log without folding it again from the start.
- ``end_state_from_log(table, scenario)`` — the end state in exactly the structure of the
  engine's own ``sim.run.end_state(ctx)``; ``verify_run(run_dir)`` compares it, part by part,
  with what the engine recorded in the manifest (``aidflow run --verify``).
- ``lineage(log, lot=...)`` / ``lineage(log, requirement=...)`` — the full history of a lot or
  a requirement: its rows, its stages, its timeline of work and waits, each wait with the
  resource waited for (donor, agency, supplier line, station, link), the lateness against
  need-by and what made it late. It lives in ``results.replay.lineage``.

The requirement a row is about is its ``ref``, the requirement's position in the scenario; pass
the (resolved) scenario to name requirements by id, to know the opening stock of units, the
handling stations, donors and vehicles. Without it requirements are named ``#<ref>``.

Example:
    >>> from scenarios.load import load
    >>> from sim.run import run
    >>> s = load("scenarios/small_routers.yaml")
    >>> log, result = run(s)
    >>> end_state_from_log(log.table(), s) == result.end
    True
    >>> st = state_at(log.table(), 30.0, s)
    >>> sorted(st.budget_eur)
    ['estonia', 'latvia', 'luxembourg']
"""

from __future__ import annotations

from results.replay.columns import EventColumns, Row
from results.replay.fold import Replay, end_state_from_log, state_at
from results.replay.lineage import STEP_LABELS, end_of_run, lineage, lineages
from results.replay.state import (
    HANDLING_KINDS,
    ContractState,
    LotState,
    NodeState,
    ReplayError,
    RequirementState,
    State,
    VehicleState,
)
from results.replay.timeline import Lineage, Stage, Step, Wait
from results.replay.verify import diff_end_states, load_run_scenario, verify_run

__all__ = [
    "HANDLING_KINDS",
    "STEP_LABELS",
    "ContractState",
    "EventColumns",
    "Lineage",
    "LotState",
    "NodeState",
    "ReplayError",
    "Replay",
    "RequirementState",
    "Row",
    "Stage",
    "State",
    "Step",
    "VehicleState",
    "Wait",
    "diff_end_states",
    "end_of_run",
    "end_state_from_log",
    "lineage",
    "lineages",
    "load_run_scenario",
    "state_at",
    "verify_run",
]
