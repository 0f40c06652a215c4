"""The pull side's language (issue 14): bad consumption, policies and allocation are refused at file:line:field."""

from __future__ import annotations

from pathlib import Path

import pytest

from scenarios.errors import ScenarioError
from scenarios.load import load

BASE = Path(__file__).resolve().parents[1] / "sim" / "inventory" / "s_s_every_two_days.yaml"
POLICY = "      shell: {rule: s_S, reorder_point: 3, order_up_to: 25}\n"
CONSUMPTION = "      shell: {dist: fixed, mean_per_day: 5, every_days: 2}\n"


def refused(tmp_path: Path, old: str, new: str) -> tuple[str, int]:
    text = BASE.read_text(encoding="utf-8")
    assert old in text
    line = text[: text.index(old)].count("\n") + 1
    path = tmp_path / "bad.yaml"
    path.write_text(text.replace(old, new), encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load(path)
    return str(info.value), line


@pytest.mark.parametrize(
    ("old", "new", "field", "message"),
    [
        (POLICY, POLICY.replace("}", ", source: maker}"), "stock_policies.shell.source", "expected depot"),
        (POLICY, POLICY.replace("order_up_to: 25", "order_up_to: 3"), "stock_policies.shell", "above reorder_point"),
        (POLICY, POLICY.replace("s_S", "s_Q"), "stock_policies.shell", "s_S"),
        (POLICY, POLICY.replace("shell:", "shel:"), "stock_policies.shel", "unknown item 'shel'"),
        (CONSUMPTION, "      shell: {dist: negative_binomial, mean_per_day: 5}\n", "consumption.shell", "dispersion"),
        (CONSUMPTION, "      shell: {dist: poisson}\n", "consumption.shell", "mean_per_day"),
        (POLICY, POLICY.replace("}", ", channel: bilateral}"), "stock_policies.shell.funders", "funding donor"),
    ],
)
def test_bad_pull_side_is_refused_at_its_line(tmp_path: Path, old: str, new: str, field: str, message: str) -> None:
    text, line = refused(tmp_path, old, new)
    assert f"bad.yaml:{line}:" in text, text
    assert field in text and message in text, text
