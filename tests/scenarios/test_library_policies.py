"""The library models consumed items by stock policies, not by written requirements (issue 14).

Done-when of issue 14: "no scripted requirement is left in the library where a policy is the
natural model". In the FPV flagship the axes consume drones and shells and reorder them by
policy; the only written drone requirements are the two donor packages (funded by donors,
not the state budget's domestic reorders), and no shell requirement is written at all.
"""

from __future__ import annotations

from pathlib import Path

from scenarios.load import load

ROOT = Path(__file__).resolve().parents[2]
FPV = ROOT / "scenarios" / "fpv_drones_2024_2025.yaml"


def test_fpv_consumed_items_are_ordered_by_policies() -> None:
    s = load(FPV)
    units = [n for n in s.nodes if n.kind == "unit"]
    for u in units:
        for item in ("fpv_drone", "shell_155"):
            assert item in u.consumption, (u.id, item)
            assert u.stock_policies[item].source == "dnipro_depot", (u.id, item)
    depot = s.node("dnipro_depot")
    assert set(depot.stock_policies) == {"fpv_drone", "shell_155"}
    assert depot.allocation.rule == "fair_share"


def test_fpv_writes_no_reorder_as_a_requirement() -> None:
    s = load(FPV)
    assert not [r.id for r in s.requirements if r.item == "shell_155"]
    assert not [r.id for r in s.requirements if r.channel == "domestic"]
    # what is left are the donor packages: every one paid by named donors
    assert s.requirements and all(r.funders for r in s.requirements)
