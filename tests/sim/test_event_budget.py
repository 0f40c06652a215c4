"""The event budget counts engine events, is checked exactly, and stops a runaway run.

The budget caps the SimPy events (``Environment.step`` calls) of one replication, not the
rows of the log: a scheduled link whose convoys find nothing to carry logs nothing, yet
processes one event per departure slot. Every count below is worked out by hand from the
processes involved.
"""

from __future__ import annotations

from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest
import simpy

from scenarios.load import load, load_text
from scenarios.schema import Scenario
from sim.budget import CHUNK, BudgetedEnvironment, EventBudgetExceeded, default_event_budget
from sim.run import run

ROOT = Path(__file__).resolve().parents[2]
TINY = ROOT / "tests" / "scenarios" / "tiny.yaml"
SMALL = ROOT / "scenarios" / "small_routers.yaml"


def _ticker(env: simpy.Environment, dt: float) -> Generator[simpy.Event, Any, None]:
    while True:
        yield env.timeout(dt)


@pytest.mark.parametrize("budget", [1, 100, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK + 7])
def test_budget_fails_exactly_at_the_next_event(budget: int) -> None:
    # events: the process's start (1), then one per timeout; the (budget+1)-th event is the
    # budget-th timeout, at day budget * dt
    env = BudgetedEnvironment(max_events=budget)
    env.process(_ticker(env, 0.5))
    with pytest.raises(EventBudgetExceeded) as info:
        env.run(until=1e9)
    assert env.events_processed == budget + 1
    assert env.now == pytest.approx(budget * 0.5)
    assert info.value.max_events == budget
    assert "--max-events" in str(info.value) and "engine events" in str(info.value)


@pytest.mark.parametrize("horizon", [10.5, CHUNK + 0.5, 2 * CHUNK + 0.5])
def test_a_run_within_budget_counts_its_events(horizon: float) -> None:
    # start + floor(horizon) timeouts; the stop event at the horizon is not counted
    needed = 1 + int(horizon)
    env = BudgetedEnvironment(max_events=needed)
    env.process(_ticker(env, 1.0))
    env.run(until=horizon)
    assert env.events_processed == needed
    assert env.now == horizon
    # one budget short fails at the last timeout
    short = BudgetedEnvironment(max_events=needed - 1)
    short.process(_ticker(short, 1.0))
    with pytest.raises(EventBudgetExceeded):
        short.run(until=horizon)
    assert short.now == int(horizon)


def test_without_a_budget_events_are_still_counted() -> None:
    env = BudgetedEnvironment()
    env.process(_ticker(env, 0.25))
    env.run(until=100.1)
    assert env.events_processed == 1 + 400
    env.run(until=200.1)  # a second call goes on counting
    # SimPy re-queues the first call's stop event (with no callbacks left) when it stops:
    # the second call processes it once more
    assert env.events_processed == 1 + 800 + 1


def test_an_empty_schedule_ends_the_run() -> None:
    env = BudgetedEnvironment(max_events=10)

    def three(env: simpy.Environment) -> Generator[simpy.Event, Any, None]:
        for _ in range(3):
            yield env.timeout(1.0)

    env.process(three(env))
    env.run()
    assert env.events_processed == 5  # start, three timeouts, the process's end
    assert env.now == 3.0


def _scheduled_tiny(every_days: float) -> Scenario:
    text = TINY.read_text(encoding="utf-8")
    old = "    dispatch: {rule: full, max_wait_days: 1}\n"
    assert old in text
    text = text.replace(old, f"    dispatch: {{rule: scheduled, every_days: {every_days!r}}}\n")
    return load_text(text, "scheduled.yaml")[0]


def test_idle_convoys_count_against_the_budget() -> None:
    # a convoy slot every minute: 1,440 events a day even when nothing is carried (no row is
    # logged for an empty slot), so a budget of 10,000 runs out before day 10,000 / 1,440 ~ 6.9
    scenario = _scheduled_tiny(1 / 1440)
    _, result = run(scenario, max_events=10_000)
    assert result.status == "failed"
    assert result.error is not None and "event budget exceeded" in result.error and "--max-events" in result.error
    assert result.end_day < 10_000 / 1440
    assert result.events == 10_001
    assert result.max_events == 10_000
    assert result.rows < 10_000  # the rows alone would never have reached the budget


def test_every_run_gets_a_default_budget() -> None:
    scenario = load(TINY)
    _, result = run(scenario)
    assert result.status == "completed", result.error
    assert result.max_events == default_event_budget(scenario)
    assert 0 < result.events < result.max_events


def test_default_budget_by_hand() -> None:
    # tiny.yaml: 1 requirement of 1,000 drones in lots of 50 -> 20 lots + 1 per supplier (1);
    # 2 links; 5 nodes + 2 links + 0 consumption lines + 1 clock = 8 actors; 120 days
    expected = 1_000_000 + 100 * 21 * (2 + 2) + 20 * 120 * 8
    assert default_event_budget(load(TINY)) == expected == 1_027_600
    # one convoy a day on a link adds 20 per slot: 120 / 1 + 1 slots
    assert default_event_budget(_scheduled_tiny(1.0)) == expected + 20 * 121


def test_the_library_runs_well_inside_its_default_budget() -> None:
    scenario = load(SMALL)
    _, result = run(scenario)
    assert result.status in ("completed", "incomplete")
    assert result.events * 10 < result.max_events, (result.events, result.max_events)
