"""``scenarios.load``: reading, positions, the shape of each problem, and never crashing."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from scenarios.errors import Problem, ScenarioError
from scenarios.load import MAX_DEPTH, Positions, load, load_text, load_with_positions
from scenarios.schema import Hub, Scenario

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
SMALL = ROOT / "scenarios" / "small_routers.yaml"
TINY = HERE / "tiny.yaml"


def line_of(text: str, needle: str, nth: int = 0) -> int:
    """1-based line of the ``nth`` occurrence of ``needle`` in ``text``."""
    index = -1
    for _ in range(nth + 1):
        index = text.index(needle, index + 1)
    return text.count("\n", 0, index) + 1


def refused(text: str | bytes, name: str = "t.yaml") -> list[Problem]:
    with pytest.raises(ScenarioError) as info:
        load_text(text, name)
    return info.value.problems


def only(text: str | bytes) -> Problem:
    problems = refused(text)
    assert len(problems) == 1, "\n".join(map(str, problems))
    return problems[0]


# --------------------------------------------------------------------------- valid files


def test_small_routers_loads() -> None:
    scenario = load(SMALL)
    assert isinstance(scenario, Scenario)
    assert scenario.name == "small_routers"
    assert scenario.start == dt.date(2025, 5, 1)
    assert type(scenario.start) is dt.date
    assert [s.name for s in scenario.strategies] == ["bilateral", "more_lanes"]


def test_load_accepts_str_and_path_and_text_and_bytes() -> None:
    text = TINY.read_text(encoding="utf-8")
    a = load(str(TINY))
    b = load(TINY)
    c, _ = load_text(text, "tiny.yaml")
    d, _ = load_text(text.encode("utf-8"), "tiny.yaml")
    assert a == b == c == d


def test_bom_and_crlf_are_fine(tiny_text: str) -> None:
    crlf = "\ufeff" + tiny_text.replace("\n", "\r\n")
    scenario, where = load_text(crlf.encode("utf-8"), "crlf.yaml")
    assert scenario.name == "tiny"
    assert where.locate(("links", 1, "vehicles"))[0] == line_of(tiny_text, "vehicles: 3")


def test_yaml_1_2_reads_numbers_as_written(tiny_text: str) -> None:
    scenario, _ = load_text(tiny_text.replace("    vehicles: 3\n", "    vehicles: 012\n"), "t.yaml")
    assert scenario.links[1].vehicles == 12  # YAML 1.1 would have read octal 10


# --------------------------------------------------------------------------- positions


def test_positions_locate_values_keys_and_ancestors() -> None:
    text = SMALL.read_text(encoding="utf-8")
    _, where = load_with_positions(SMALL)
    first_link = line_of(text, "  - id: rail_lv_pl")
    vehicles = line_of(text, "    vehicles: 2")
    assert where.locate(("links", 0, "vehicles")) == (vehicles, len("    vehicles: ") + 1)
    assert where.locate_key(("links", 0, "vehicles")) == (vehicles, 5)
    # the Python field name and the key in the file both work
    assert where.locate(("links", 0, "from_")) == where.locate(("links", 0, "from")) == (first_link + 1, 11)
    # a key the file does not spell out: the deepest ancestor that exists
    assert where.locate(("links", 0, "loss_probability")) == (first_link, 5)
    assert where.locate(("links", 99, "to")) == where.locate(("links",)) == (first_link, 3)
    assert where.locate(()) == (line_of(text, "name: small_routers"), 1)
    assert where.locate(("nodes", 1, "tranches", 0, "date"))[0] == line_of(text, "{date: 2025-06-01")


def test_positions_problem_uses_the_file_spelling() -> None:
    _, where = load_with_positions(SMALL)
    problem = where.problem(("links", 2, "from_"), "no route")
    assert isinstance(problem, Problem)
    assert problem.path == "links[2].from"
    assert str(problem).startswith(f"{SMALL}:{problem.line}:{problem.col} links[2].from: no route")


def test_positions_without_a_document() -> None:
    where = Positions("x.yaml", None)
    assert where.locate(("links", 0)) == (1, 1)
    assert where.problem((), "oops") == Problem("x.yaml", 1, 1, "", "oops")


# --------------------------------------------------------------------------- problems


def test_reading_problems_point_at_line_one(tmp_path: Path) -> None:
    for path, message in [
        (tmp_path / "nope.yaml", "cannot read: no such file"),
        (tmp_path, "cannot read: it is a directory"),
    ]:
        with pytest.raises(ScenarioError) as info:
            load(path)
        [problem] = info.value.problems
        assert str(problem) == f"{path}:1:1 {message}"


def test_union_tags_and_aliases_are_not_in_paths(tiny_text: str) -> None:
    problem = only(tiny_text.replace("    servers: 2\n", "    servers: 0\n"))
    assert problem.path == "nodes[3].servers"  # pydantic says nodes.3.hub.servers
    assert problem.message == "must be > 0 (got 0)"
    problem = only(tiny_text.replace("cv: 0.5}", "cv: 0}"))
    assert problem.path == "nodes[1].tender_days.cv"  # pydantic: tender_days.lognormal.cv
    assert (problem.line, problem.col) == (line_of(tiny_text, "cv: 0.5}"), tiny_text.split("\n")[17].index("0.5") + 1)
    problem = only(tiny_text.replace("    from: maker\n", "    from: 7\n"))
    assert problem.path == "links[0].from" and problem.message == "must be a string (got 7)"


def test_unknown_key_lists_the_allowed_keys_and_a_guess(tiny_text: str) -> None:
    problem = only(tiny_text.replace("    servers: 2\n", "    servers: 2\n    server: 2\n"))
    assert problem.path == "nodes[3].server"
    assert (problem.line, problem.col) == (line_of(tiny_text, "servers: 2") + 1, 5)
    assert "did you mean 'servers'?" in problem.message
    allowed = problem.message.split("allowed: ")[1].rstrip(")").split(", ")
    assert set(allowed) == {a.alias or n for n, a in Hub.model_fields.items()}


def test_a_bad_mapping_key_is_reported_at_the_key(tiny_text: str) -> None:
    text = tiny_text.replace("    kind: unit\n", "    kind: unit\n    initial_stock: {drone: 5, bad key!: 1}\n")
    problem = only(text)
    assert problem.path == "nodes[4].initial_stock.bad key!"
    assert problem.message.endswith("(got 'bad key!')")
    assert (problem.line, problem.col) == (line_of(text, "initial_stock"), text.split("\n")[28].index("bad") + 1)


def test_a_number_for_a_distribution_is_reported_where_written(tiny_text: str) -> None:
    problem = only(tiny_text.replace("    transit_days: 2\n", "    transit_days: -2\n"))
    assert problem.path == "links[1].transit_days"  # not the synthetic ...transit_days.value
    assert problem.message == "must be >= 0 (got -2)"
    problem = only(tiny_text.replace("    transit_days: 2\n", "    transit_days: soon\n"))
    assert problem.message.startswith("must be a number of days or a distribution")


def test_missing_discriminator(tiny_text: str) -> None:
    problem = only(tiny_text.replace("    kind: hub\n", ""))
    assert problem.path == "nodes[3].kind"
    assert problem.message.startswith("required (one of: donor, agency, supplier, hub")
    assert problem.line == line_of(tiny_text, "  - id: rzeszow")


def test_every_reference_problem_has_its_own_line(tiny_text: str) -> None:
    text = tiny_text.replace("    to: rzeszow\n", "    to: nowhere\n").replace("    item: drone\n", "    item: tank\n")
    problems = refused(text)
    assert [(p.line, p.path) for p in problems] == [
        (line_of(tiny_text, "    to: rzeszow"), "links[0].to"),
        (line_of(tiny_text, "    item: drone"), "requirements[0].item"),
    ]


def test_dates_and_datetimes(tiny_text: str) -> None:
    problem = only(tiny_text.replace("start: 2025-05-01\n", "start: 2025-05-01T10:30:00\n"))
    assert problem.path == "start" and "must be a date" in problem.message
    # start + horizon past the last date Python knows: reported, not an OverflowError
    problems = refused(tiny_text.replace("start: 2025-05-01\n", "start: 9999-12-30\n"))
    assert problems[0].path == "horizon_days" and "past 9999-12-31" in problems[0].message


def test_yaml_level_problems(tiny_text: str) -> None:
    assert "duplicate key 'name' (first at line 2)" in only(tiny_text + "name: again\n").message
    assert only("a: 1\n" + "b: &x 2\n").line == 2
    assert only("a: *x\n").message.startswith("aliases are not allowed")
    assert only("a: !!binary aGVsbG8=\n").message == "explicit tags are not allowed (!!binary)"
    assert only("a: ! x\n").message == "explicit tags are not allowed (!)"
    assert only("---\n").message.startswith("the file is empty")
    assert only("? [a, b]\n: c\n").message == "mapping keys must be strings (got a list)"
    assert only("null: 1\n").message.startswith("mapping keys must be strings (got null)")
    assert only("just a string\n").message.startswith("the top level must be a mapping")
    problem = only("name: x\n\x07\n")
    assert (problem.line, problem.col) == (2, 1) and "U+0007" in problem.message
    problem = only(b"name: x\nq: ok\nr: na\xc3\xafve \xff\n")
    assert (problem.line, problem.col) == (3, 10)


def test_nesting_limit_counts_every_level() -> None:
    def nested(depth: int) -> str:  # the top-level mapping is level 1
        return "a: " + "[" * (depth - 1) + "]" * (depth - 1) + "\n"

    assert "nesting" not in " ".join(map(str, refused(nested(MAX_DEPTH))))
    assert "nesting is deeper" in only(nested(MAX_DEPTH + 1)).message
    assert "nesting is deeper" in only("a:\n" + "".join(" " * i + "- \n" for i in range(1, MAX_DEPTH + 2))).message


def test_brackets_inside_strings_do_not_fool_the_depth_check() -> None:
    text = "a: '" + "[" * 500 + "'\nb: [1, 2]\n"
    assert "nesting" not in " ".join(map(str, refused(text)))


@pytest.mark.parametrize(
    "bomb",
    [
        pytest.param("a: " + "[" * 100_000 + "]" * 100_000 + "\n", id="flow-100k"),
        pytest.param("a: " + "{a: " * 50_000 + "}" * 50_000 + "\n", id="flow-map-50k"),
        pytest.param("- " * 100_000 + "x\n", id="block-100k"),
        pytest.param("a: " + '["]", ' * 20_000 + "]" * 20_000 + "\n", id="quoted-brackets"),
        pytest.param(
            "a: &a [" + "x, " * 1000 + "]\n" + "".join(f"b{i}: &b{i} [*a, *a]\n" for i in range(30)), id="laughs"
        ),
    ],
)
def test_bombs_fail_fast(bomb: str) -> None:
    """A guard refuses the bomb at its first few hundred characters, before parsing the rest.

    Structural, not timed (timings belong to benchmarks/): the error names the guard and
    points near the start of a text of 100k+ characters.
    """
    with pytest.raises(ScenarioError) as err:
        load_text(bomb, "bomb.yaml")
    message = str(err.value)
    assert "nesting is deeper than" in message or "anchors are not allowed" in message, message
    line, column = (int(x) for x in message.split(" ", 1)[0].split(":")[1:3])
    assert line == 1 and column < 500, message


@pytest.mark.parametrize(
    "text",
    [
        "",
        "\ufeff",
        " \n\t\n",
        "...\n",
        "--- |\n  x\n",
        "[",
        "{",
        "}",
        "a: 'unterminated",
        'a: "bad \\q escape"',
        "!",
        "&",
        "*",
        "%",
        "%YAML 2.0\n---\na: 1\n",
        "%TAG ! tag:x,2000:\n---\na: 1\n",
        "a: !<tag:yaml.org,2002:str> x\n",
        "a: 0x" + "f" * 20_000 + "\n",
        "a: 0o" + "7" * 5000 + "\n",
        "a: 0b" + "1" * 5000 + "\n",
        "a: " + "9" * 400 + ".5e3\n",
        "a: -" + "1" * 4500 + "\n",
        "a: 1_000_000\n",
        "\u2028\u2029\x85",
        "a: b: c\n",
        "- - - -\n",
        "a:\n  - b\n c\n",
        "\r\r\r",
        "name: x\nstart: 0000-01-01\n",
        "name: x\nstart: 2025-02-30\n",
        "name: x\nstart: 2025-05-01 25:00:00\n",
        "start: 2025-05-01\n" * 3,
        "strategies: [{name: s, overrides: {'nodes.²': 1}}]\n",
        "\udcff",
        "a: \ud800\n",
    ],
)
def test_odd_inputs_give_only_scenario_errors(text: str) -> None:
    with pytest.raises(ScenarioError) as info:
        load_text(text, "odd.yaml")
    assert info.value.problems
    for problem in info.value.problems:
        assert problem.file == "odd.yaml" and problem.line >= 1 and problem.col >= 1


def test_non_text_input_is_a_scenario_error() -> None:
    with pytest.raises(ScenarioError):
        load_text(None, "none.yaml")  # type: ignore[arg-type]
