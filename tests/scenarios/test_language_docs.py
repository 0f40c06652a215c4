"""The scenario language documents itself: every field described, with unit and default.

``aidflow schema`` prints the JSON Schema; every property of every model in it carries a
description, every numeric one a unit, every optional one its default. The generated
reference ``docs/scenario-language.md`` (``python -m scenarios.docs``) must match what the
schema renders to today.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from scenarios.docs import DOC_PATH, REGENERATE, main, render

UNITLESS_NUMBERS = {"seed"}
"""Numeric fields that count nothing: the random seed is a label, not a quantity."""


def _emitted_schema(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    """The JSON Schema exactly as ``aidflow schema`` prints it."""
    from sim.cli import main as cli_main

    monkeypatch.setattr(sys, "argv", ["aidflow", "schema"])
    capsys.readouterr()
    try:
        cli_main()
    except SystemExit as exc:
        assert exc.code in (0, None)
    return dict(json.loads(capsys.readouterr().out))


def _models(schema: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    yield "Scenario", schema
    yield from schema["$defs"].items()


def _is_numeric(prop: Any) -> bool:
    if not isinstance(prop, dict):
        return False
    if prop.get("type") in ("number", "integer"):
        return True
    members = prop.get("anyOf", []) + list(prop.get("patternProperties", {}).values())
    return any(_is_numeric(m) for m in [*members, prop.get("items")])


def test_every_property_has_a_description_unit_and_default(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    schema = _emitted_schema(monkeypatch, capsys)
    missing: list[str] = []
    count = 0
    for model, body in _models(schema):
        required = set(body.get("required", []))
        for field, prop in body.get("properties", {}).items():
            count += 1
            where = f"{model}.{field}"
            if not str(prop.get("description", "")).strip():
                missing.append(f"{where}: no description")
            if _is_numeric(prop) and field not in UNITLESS_NUMBERS and not prop.get("unit"):
                missing.append(f"{where}: a number without a unit")
            if field not in required and "default" not in prop:
                missing.append(f"{where}: optional but no default in the schema")
    assert not missing, "\n".join(missing)
    assert count > 150  # the walk did see the whole language


def test_every_model_has_a_description(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    schema = _emitted_schema(monkeypatch, capsys)
    assert [name for name, body in _models(schema) if not body.get("description")] == []


def test_committed_reference_matches_the_schema() -> None:
    committed = DOC_PATH.read_text(encoding="utf-8") if DOC_PATH.exists() else ""
    assert committed == render(), f"{DOC_PATH} is out of date: regenerate it with `{REGENERATE}`"


def test_reference_lists_every_field_with_its_unit_and_default() -> None:
    text = render()
    assert "| `transit_days` | duration | days | **required** |" in text
    assert "| `loss_probability` | number | probability | `0.0` | >= 0, <= 1 |" in text
    assert "| `dispatch` |" in text and "`{rule: immediate}`" in text
    assert "| `mode` | string |  | **required** | `road`, `rail`, `air`, `sea` |" in text


def test_check_mode_names_the_regenerating_command(tmp_path: Any, capsys: pytest.CaptureFixture[str]) -> None:
    stale = tmp_path / "scenario-language.md"
    stale.write_text("# old\n", encoding="utf-8")
    assert main(["--check", "--output", str(stale)]) == 1
    assert REGENERATE in capsys.readouterr().err
    assert main(["--output", str(stale)]) == 0
    assert main(["--check", "--output", str(stale)]) == 0
