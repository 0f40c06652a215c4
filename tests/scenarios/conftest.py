"""Fixtures of the scenario-language tests, and the malformed corpus table they share.

``CASES`` lists every malformed file with the line, field path and message its one problem
must have. Most files live in ``malformed/`` (each is ``tiny.yaml`` with one thing broken);
the big or binary ones are generated into a temporary folder instead of being committed.
``test_malformed.py`` loads each through ``scenarios.load`` and ``test_malformed_cli.py``
through ``aidflow validate``; a test asking for ``malformed_case`` runs once per file.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
TINY = HERE / "tiny.yaml"
SMALL_ROUTERS = ROOT / "scenarios" / "small_routers.yaml"
MALFORMED = HERE / "malformed"


@dataclass(frozen=True)
class Case:
    """One malformed file and what its problem must say."""

    file: str
    line: int
    path: str  # a substring of the field path ("" for problems of the file as a whole)
    message: str  # a substring of the message
    count: int = 1  # how many problems the loader reports
    cli_only: bool = False  # found by the network checks, which only the CLI runs

    @property
    def id(self) -> str:
        return self.file.removesuffix(".yaml")


CASES = [
    Case("alias_bomb.yaml", 3, "", "anchors are not allowed"),
    Case("bad_id.yaml", 30, "links[0].id", "must be an id"),
    Case(
        "bad_strategy_path.yaml",
        63,
        "strategies[0].overrides.links.road_hub_brigad.vehicles",
        "unknown path: no entry 'road_hub_brigad', did you mean 'road_hub_brigade'?",
    ),
    Case("date_not_a_date.yaml", 4, "start", "must be a date"),
    Case("disruption_target_unknown.yaml", 57, "disruptions[0].target", "unknown node or link 'krakow'"),
    Case("duplicate_id.yaml", 37, "links[1].id", "duplicate id 'road_maker_hub'"),
    Case("duplicate_mapping_key.yaml", 43, "links[1].vehicles", "duplicate key 'vehicles' (first at line 42)"),
    Case("empirical_weights.yaml", 18, "nodes[1].tender_days", "weights must sum to 1 (got 1.3)"),
    Case("empty.yaml", 1, "", "the file is empty"),
    Case("float_overflow.yaml", 14, "nodes[0].budget_eur", "must be a finite number (got 1e999)"),
    Case("impossible_date.yaml", 52, "requirements[0].need_by", "not a valid date (got 2025-13-45)"),
    Case("inf.yaml", 9, "items[0].volume_m3", "must be a finite number (got .inf)"),
    Case("link_from_unit.yaml", 31, "links[0].from", "'brigade' is a unit"),
    Case("list_where_mapping.yaml", 44, "links[1].dispatch", "must be a mapping (got a list)"),
    Case("lot_size_zero.yaml", 10, "items[0].lot_size", "must be > 0 (got 0)"),
    Case("merge_key.yaml", 11, "items[0]", "merge keys (<<) are not supported"),
    Case("missing_required.yaml", 30, "links[0].vehicles", "required"),
    Case("multiple_documents.yaml", 54, "", "one YAML document"),
    Case("name_not_a_string.yaml", 2, "name", "must be a string (got 42)"),
    Case("nan.yaml", 8, "items[0].unit_value_eur", "must be a finite number (got .nan)"),
    Case("need_by_before_opens.yaml", 52, "requirements[0].need_by", "before opens 2025-05-10"),
    Case("need_by_before_start.yaml", 52, "requirements[0].need_by", "outside the horizon"),
    Case("negative_capacity.yaml", 43, "links[1].capacity_m3", "must be > 0 (got -20)"),
    Case("non_string_key.yaml", 11, "items[0]", "mapping keys must be strings (got 2025)"),
    Case("only_comment.yaml", 1, "", "the file is empty"),
    Case("probability_1_5.yaml", 45, "links[1].loss_probability", "must be <= 1 (got 1.5)"),
    Case("python_object_tag.yaml", 2, "", "explicit tags are not allowed (!!python/object/apply:os.system)"),
    Case("qty_too_large.yaml", 50, "requirements[0].qty", "must be <= 1000000000000 (got 10000000000000)"),
    Case("requirement_unit_is_hub.yaml", 48, "requirements[0].unit", "'rzeszow' is a hub, expected unit"),
    Case("str_tag.yaml", 17, "", "explicit tags are not allowed (!!str)"),
    Case(
        "strategy_vehicles_zero.yaml",
        63,
        "strategies[0].overrides.links.road_hub_brigade.vehicles",
        "must be > 0 (got 0)",
    ),
    Case("syntax_error.yaml", 42, "", "YAML syntax error"),
    Case("tab_indent.yaml", 28, "", "not tabs"),
    Case("top_level_list.yaml", 2, "", "the top level must be a mapping"),
    Case("triangular_mode_outside.yaml", 26, "nodes[3].service_days", "need low <= mode <= high"),
    Case("uniform_high_below_low.yaml", 34, "links[0].transit_days", "high must be >= low"),
    Case("unknown_dispatch_rule.yaml", 44, "links[1].dispatch.rule", "unknown rule 'whenever'"),
    Case("unknown_dist.yaml", 18, "nodes[1].tender_days.dist", "unknown dist 'gamma'"),
    Case("unknown_key.yaml", 37, "links[0].colour", "unknown key (allowed: capacity_m3, cite,"),
    Case("unknown_node_kind.yaml", 24, "nodes[3].kind", "unknown kind 'warehouse'"),
    Case("unknown_node_reference.yaml", 39, "links[1].to", "unknown node 'brigade_x', did you mean 'brigade'?"),
    Case("unreachable_unit.yaml", 50, "requirements[0].unit", "unreachable", cli_only=True),
    Case(
        "strategy_closes_only_route.yaml",
        66,
        "strategies[1].overrides.links.road_hub_brigade.enabled",
        "in strategy 'close_road': requirements[0].unit: unit 'brigade' is unreachable",
        cli_only=True,
    ),
    Case(
        "strategy_lot_too_big.yaml",
        66,
        "strategies[1].overrides.items.drone.lot_size",
        "in strategy 'big_lots': links[0].capacity_m3: a lot of 'drone' (5000 x 0.02 m3 = 100 m3) does not fit",
        cli_only=True,
    ),
    Case("wrong_type.yaml", 42, "links[1].vehicles", "must be an integer (got 'three')"),
    Case("yaml_1_1.yaml", 3, "", "only YAML 1.2 is supported"),
    Case("zero_capacity.yaml", 36, "links[0].capacity_m3", "must be > 0 (got 0)"),
    # numeric edges: booleans, quoted numbers, subnormal and huge floats, tiny periods, ids
    Case("bool_as_integer.yaml", 42, "links[1].vehicles", "must be an integer (got true)"),
    Case("bool_as_number.yaml", 8, "items[0].unit_value_eur", "must be a number (got false)"),
    Case("bool_as_duration.yaml", 41, "links[1].transit_days", "must be a number of days or a distribution"),
    Case("bool_as_probability.yaml", 45, "links[1].loss_probability", "must be a number (got true)"),
    Case("number_as_bool.yaml", 46, "links[1].enabled", "must be true or false (got 1)"),
    Case("number_as_date.yaml", 4, "start", "must be a date YYYY-MM-DD (got 0)"),
    Case("string_as_integer.yaml", 42, "links[1].vehicles", "must be an integer (got '3')"),
    Case("string_as_number.yaml", 43, "links[1].capacity_m3", "must be a number (got '20')"),
    Case("float_as_integer.yaml", 50, "requirements[0].qty", "must be an integer (got 1000.5)"),
    Case("subnormal_volume.yaml", 9, "items[0].volume_m3", "must be >= 1e-09 (got 1e-320)"),
    Case("huge_float.yaml", 14, "nodes[0].budget_eur", "must be <= 1000000000000 (got 1e308)"),
    Case("huge_duration.yaml", 41, "links[1].transit_days", "must be <= 1000000000000 (got 1e308)"),
    Case("tiny_convoy_period.yaml", 44, "links[1].dispatch.every_days", "must be >= 0.0006944 (got 1e-9)"),
    Case("tiny_disruption_duration.yaml", 59, "disruptions[0].duration_days", "must be >= 0.0006944 (got 1e-12)"),
    Case("subnormal_rate.yaml", 58, "disruptions[0].rate_per_year", "must be >= 1e-12 (got 5e-324)"),
    Case("link_id_is_node_id.yaml", 37, "links[1].id", "'rzeszow' is already the id of nodes[3]"),
    # strategy overrides held to the same rules
    Case("strategy_bool.yaml", 63, "overrides.links.road_hub_brigade.vehicles", "must be an integer (got true)"),
    Case("strategy_negative.yaml", 63, "overrides.links.road_hub_brigade.capacity_m3", "must be > 0 (got -5)"),
    Case("strategy_unknown_field.yaml", 63, "overrides.links.road_hub_brigade.colour", "unknown path: no field"),
    Case("strategy_tiny_period.yaml", 63, "overrides.links.road_hub_brigade.dispatch", "must be >= 0.0006944"),
    Case("strategy_id_collision.yaml", 63, "overrides.links.road_hub_brigade.id", "already the id of nodes[3]"),
    Case("strategy_huge_number.yaml", 63, "overrides.nodes.donor_a.budget_eur", "must be <= 1000000000000"),
    Case(
        "strategy_string_number.yaml", 63, "overrides.links.road_hub_brigade.vehicles", "must be an integer (got '6')"
    ),
    # generated (see GENERATED below)
    Case("huge_integer.yaml", 50, "requirements[0].qty", "number too large (5000 digits)"),
    Case("deep_nesting.yaml", 29, "", "nesting is deeper than 64 levels"),
    Case("six_mb.yaml", 1, "", "the file is too large (6.0 MB"),
    Case("binary_garbage.yaml", 1, "", "not valid UTF-8 (byte 0x89)"),
    Case("control_chars.yaml", 2, "", "control character U+0000"),
    Case("invalid_utf8.yaml", 3, "", "not valid UTF-8 (byte 0xe9)"),
]


def _tiny() -> str:
    return TINY.read_text(encoding="utf-8")


def _replace(old: str, new: str) -> bytes:
    text = _tiny()
    assert text.count(old) == 1, old
    return text.replace(old, new).encode("utf-8")


def _six_mb() -> bytes:
    data = _tiny().encode("utf-8")
    pad = b"# padding to make the file larger than the 5 MB limit\n"
    return data + pad * ((6_000_000 - len(data)) // len(pad) + 1)


GENERATED: dict[str, Callable[[], bytes]] = {
    "huge_integer.yaml": lambda: _replace("    qty: 1000\n", "    qty: " + "7" * 5000 + "\n"),
    "deep_nesting.yaml": lambda: _replace("links:\n", "links: " + "[" * 100_000 + "]" * 100_000 + "\n"),
    "six_mb.yaml": _six_mb,
    "binary_garbage.yaml": lambda: b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + random.Random(7).randbytes(4096),
    "control_chars.yaml": lambda: b"name: tiny\n\x00\x01\x02\x03\x1b[0m garbage\n",
    "invalid_utf8.yaml": lambda: _replace("question: Do", "question: Caf\u00e9 do").replace(b"\xc3\xa9", b"\xe9"),
}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run a test asking for ``malformed_case`` once per corpus file, with the file as its id."""
    if "malformed_case" in metafunc.fixturenames:
        metafunc.parametrize("malformed_case", CASES, ids=[c.id for c in CASES])


@pytest.fixture(scope="session")
def generated_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The generated part of the corpus, written once per session."""
    folder = tmp_path_factory.mktemp("malformed")
    for name, make in GENERATED.items():
        (folder / name).write_bytes(make())
    return folder


def _path_of(case: Case, generated: Path) -> Path:
    return generated / case.file if case.file in GENERATED else MALFORMED / case.file


@pytest.fixture
def case_path(malformed_case: Case, generated_dir: Path) -> Path:
    """The file of the parametrized ``malformed_case`` (committed or generated)."""
    return _path_of(malformed_case, generated_dir)


@pytest.fixture(scope="session")
def corpus(generated_dir: Path) -> list[tuple[Case, Path]]:
    """Every corpus case with its file, for tests that take the corpus as a whole."""
    return [(case, _path_of(case, generated_dir)) for case in CASES]


@pytest.fixture
def tiny_text() -> str:
    """The text of the tiny valid scenario the corpus derives from."""
    return _tiny()
