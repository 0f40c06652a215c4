"""``scenarios.schema``: the JSON Schema agrees with the files, distributions, references."""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from pydantic import ValidationError
from ruamel.yaml import YAML

from scenarios.schema import (
    Empirical,
    Exponential,
    Fixed,
    Link,
    Lognormal,
    Requirement,
    Scenario,
    Triangular,
    Uniform,
    reference_problems,
)

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
FILES = [ROOT / "scenarios" / "small_routers.yaml", HERE / "tiny.yaml"]


def plain(path: Path) -> Any:
    """The file as JSON would see it (dates as ISO strings)."""
    return json.loads(json.dumps(YAML(typ="safe", pure=True).load(path), default=str))


@pytest.fixture(scope="module")
def validator() -> jsonschema.protocols.Validator:
    schema = Scenario.model_json_schema(by_alias=True, mode="validation")
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


@pytest.fixture(scope="module")
def small() -> Scenario:
    return Scenario.model_validate(YAML(typ="safe", pure=True).load(FILES[0]))


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_json_schema_accepts_the_library(validator: jsonschema.protocols.Validator, path: Path) -> None:
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(plain(path))]
    assert errors == []


def test_json_schema_admits_the_number_shorthand_and_rejects_bad_values(
    validator: jsonschema.protocols.Validator,
) -> None:
    data = plain(FILES[1])
    data["links"][0]["transit_days"] = 2.5  # a bare number means {dist: fixed, value: 2.5}
    assert validator.is_valid(data)
    for field, value in [("vehicles", 0), ("transit_days", -1), ("transit_days", {"dist": "gamma"}), ("colour", "red")]:
        bad = plain(FILES[1])
        bad["links"][0][field] = value
        assert not validator.is_valid(bad), (field, value)


@pytest.mark.parametrize(
    ("dist", "mean"),
    [
        (Fixed(value=2.0), 2.0),
        (Exponential(dist="exponential", mean=3.0), 3.0),
        (Uniform(dist="uniform", low=1.0, high=3.0), 2.0),
        (Triangular(dist="triangular", low=1.0, mode=2.0, high=6.0), 3.0),
        (Lognormal(dist="lognormal", mean=21.0, cv=0.4), 21.0),
        (Empirical(dist="empirical", values=[1.0, 2.0, 6.0]), 3.0),
        (Empirical(dist="empirical", values=[1.0, 3.0], weights=[0.25, 0.75]), 2.5),
    ],
    ids=lambda x: getattr(x, "dist", None) or str(x),
)
def test_mean_days(dist: Any, mean: float) -> None:
    assert math.isclose(dist.mean_days(), mean)


def test_a_bare_number_is_a_fixed_distribution() -> None:
    link = Link.model_validate(
        {"id": "l", "from": "a", "to": "b", "mode": "road", "transit_days": 2, "vehicles": 1, "capacity_m3": 1}
    )
    assert link.transit_days == Fixed(value=2.0)
    assert link.from_ == "a"


@pytest.mark.parametrize(
    "bad",
    [
        {"dist": "uniform", "low": 3, "high": 1},
        {"dist": "triangular", "low": 1, "mode": 5, "high": 3},
        {"dist": "empirical", "values": [1, 2], "weights": [0.6, 0.7]},
        {"dist": "empirical", "values": [1, 2], "weights": [1.0]},
        {"dist": "lognormal", "mean": 1, "cv": 0},
        {"dist": "fixed", "value": float("nan")},
    ],
)
def test_invalid_distributions_are_refused(bad: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        Link.model_validate(
            {"id": "l", "from": "a", "to": "b", "mode": "road", "transit_days": bad, "vehicles": 1, "capacity_m3": 1}
        )


def test_reference_problems_of_a_valid_scenario(small: Scenario) -> None:
    assert reference_problems(small) == []


def test_reference_problems_name_each_broken_reference(small: Scenario) -> None:
    req = small.requirements[0]
    broken = small.model_copy(
        update={
            "requirements": [
                req.model_copy(update={"unit": "rzeszow_hub", "item": "tank"}),
                req.model_copy(update={"id": req.id, "funders": []}),
            ]
        }
    )
    found = reference_problems(broken)
    assert (("requirements", 0, "unit"), "'rzeszow_hub' is a hub, expected unit") in found
    assert (("requirements", 0, "item"), "unknown item 'tank'") in found
    assert any(loc == ("requirements", 1, "id") and "duplicate id" in msg for loc, msg in found)
    assert any(loc == ("requirements", 1, "funders") for loc, _ in found)


def test_a_horizon_past_the_calendar_is_a_problem_not_a_crash(small: Scenario) -> None:
    late = small.model_copy(update={"start": dt.date(9999, 12, 1)})
    found = reference_problems(late)
    assert (("horizon_days",), "start + horizon_days is past 9999-12-31") in found


def test_models_are_frozen(small: Scenario) -> None:
    with pytest.raises(ValidationError):
        small.links[0].vehicles = 9  # type: ignore[misc]
    assert isinstance(small.requirements[0], Requirement)
