"""YAML -> Scenario: the guarded edge where a scenario file becomes a validated ``Scenario``.

Reading happens in stages; a file that fails stage 1 or 2 goes no further (stages 1-3 are
the YAML guards of ``scenarios.yaml_guards``, this module runs stage 4):

1. bytes: at most ``MAX_BYTES`` (checked before the file is read whole), valid UTF-8, no
   control characters;
2. events: the YAML 1.2 parser's event stream is walked first, and anchors, aliases, explicit
   tags (``!!python/object``, ``!!str``...), nesting deeper than ``MAX_DEPTH``, a second
   document and an empty file are refused before anything is built (so an alias bomb or a
   100,000-deep nesting fails in milliseconds);
3. nodes: the checked events are composed into ruamel nodes, whose marks give every line
   and column; the tree becomes plain Python data (``dict``/``list``/``str``/``int``/``float``/``bool``/``None``/
   ``datetime.date``); keys must be strings and unique, numbers of sane size;
4. model: ``Scenario.model_validate`` (of what stage 3 could read, even when it found
   problems); when fields fail, the id references are still checked on the raw data
   (``scenarios.refs``), so a bad value and an unknown id are reported together, and a
   problem at or under the place of an earlier one is dropped; then, for a valid file, every
   strategy overlay is tried.

Every problem found is reported at once, in file order, as one ``ScenarioError`` whose
problems read like a compiler's::

    fpv.yaml:42:7 links[3].vehicles: must be > 0 (got 0)

Nothing but ``ScenarioError`` ever leaves ``load``/``load_text``, whatever the input.
``Positions`` turns any field path into a line and column, so later checks (the network's)
can report their problems the same way.

Example:
    >>> scenario, where = load_text("name: x", "demo.yaml")
    Traceback (most recent call last):
    ...
    scenarios.errors.ScenarioError: demo.yaml:1:1 start: required
    demo.yaml:1:1 horizon_days: required
    demo.yaml:1:1 items: required
    demo.yaml:1:1 nodes: required
"""

from __future__ import annotations

import datetime as dt
import math
import re
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from ruamel.yaml.error import MarkedYAMLError
from ruamel.yaml.nodes import MappingNode, ScalarNode, SequenceNode

from scenarios import schema
from scenarios.errors import Problem, ScenarioError
from scenarios.pledges import expand_pledges
from scenarios.positions import Loc, Positions, node_position
from scenarios.refs import did_you_mean, id_reference_problems
from scenarios.schema import Scenario
from scenarios.strategies import StrategyProblem, apply_overrides, strategy_problems
from scenarios.yaml_guards import (
    EMPTY_FILE,
    MAX_BYTES,
    MAX_DEPTH,
    MAX_INT_DIGITS,
    YAML_TAG,
    PlainReader,
    Stop,
    clip,
    compose,
    decode,
    read_bytes,
    text_position,
    yaml_problem,
)

__all__ = ["MAX_BYTES", "MAX_DEPTH", "MAX_INT_DIGITS", "Positions", "load", "load_text", "load_with_positions"]

_FUNCTION_LOC = re.compile(r"^function-(?:before|after|wrap|plain)\[.*\]$", re.DOTALL)
_ID_PATTERN = r"^[A-Za-z][A-Za-z0-9_\-]*$"
_TAGS = ("kind", "dist", "rule")
"""Discriminator fields of the language's tagged unions."""


# --------------------------------------------------------------------------- public API


def load(path: str | Path) -> Scenario:
    """The validated scenario in ``path``; raises ``ScenarioError`` with every problem.

    Strategy overlays are validated too, but the base scenario is returned (use
    ``Scenario.with_strategy`` to resolve one).
    """
    return load_with_positions(path)[0]


def load_with_positions(path: str | Path) -> tuple[Scenario, Positions]:
    """``load`` plus the ``Positions`` of the file, for checks that run after validation."""
    name = str(path)
    try:
        data = read_bytes(Path(path), name)
        return _load_bytes(data, name)
    except Stop as stop:
        raise ScenarioError(stop.problems) from None


def load_text(text: str | bytes, filename: str = "<text>") -> tuple[Scenario, Positions]:
    """Load a scenario from text (or raw bytes) as if it were the file ``filename``."""
    try:
        if isinstance(text, str):
            try:
                raw = text.encode("utf-8")
            except UnicodeEncodeError as exc:
                line, col = text_position(text, exc.start)
                raise Stop([Problem(filename, line, col, "", "invalid character (a lone surrogate)")]) from None
        elif isinstance(text, bytes | bytearray | memoryview):
            raw = bytes(text)
        else:
            raise Stop([Problem(filename, 1, 1, "", f"cannot read: expected text, got {type(text).__name__}")])
        return _load_bytes(raw, filename)
    except Stop as stop:
        raise ScenarioError(stop.problems) from None


# --------------------------------------------------------------------------- stage 4: model


def _load_bytes(data: bytes, file: str) -> tuple[Scenario, Positions]:
    text = decode(data, file)
    try:
        root = compose(text, file)
    except MarkedYAMLError as exc:
        raise Stop([yaml_problem(exc, file)]) from None
    except Stop:
        raise
    except Exception as exc:  # ruamel's reader and odd corners: never let them escape
        raise Stop([Problem(file, 1, 1, "", f"cannot parse: {type(exc).__name__}: {clip(str(exc), 200)}")]) from None

    if root is None or (isinstance(root, ScalarNode) and root.value == "" and str(root.tag) == YAML_TAG + "null"):
        raise Stop([Problem(file, 1, 1, "", EMPTY_FILE)])
    if not isinstance(root, MappingNode):
        line, col = node_position(root)
        kind = "a list" if isinstance(root, SequenceNode) else clip(str(root.value))
        raise Stop([Problem(file, line, col, "", f"the top level must be a mapping of scenario keys (got {kind})")])

    plain = PlainReader(file)
    data_tree = plain.convert(root, ())
    positions = Positions(file, root)
    try:
        scenario = Scenario.model_validate(data_tree)
        if plain.problems:  # the data read around them is valid: they are all there is to say
            raise Stop(_sorted(plain.problems))
    except Stop:
        raise
    except ValidationError as exc:
        errors: list[dict[str, Any]] = [dict(e) for e in exc.errors(include_url=False)]
        # A value of a ``number | keyword`` union (``budget_eur: unlimited``) fails both members;
        # the number's message says what is wrong, the keyword's alternative adds only noise.
        numeric_locs: set[tuple[Any, ...]] = {tuple(e["loc"])[:-1] for e in errors if e.get("type") != "literal_error"}
        problems: list[Problem] = []
        for err in errors:
            if err.get("type") == "literal_error" and tuple(err["loc"])[:-1] in numeric_locs:
                continue
            problems.extend(_problems_of(err, positions))
        problems = _one_per_place(plain.problems, problems)
        if not any(e.get("type") == "reference" for e in errors):  # fields failed: references were not checked
            refs = [positions.problem(tuple(loc), message) for loc, message in _raw_references(data_tree)]
            problems = _one_per_place(problems, refs)
        raise Stop(_sorted(problems)) from None
    except Exception as exc:  # a bug in a validator: still a ScenarioError, and say so
        raise Stop(
            [Problem(file, 1, 1, "", f"internal error while validating ({type(exc).__name__}: {exc})")]
        ) from None

    strategy = _strategy_problems(scenario, positions)
    if strategy:
        raise Stop(_sorted(strategy))
    return scenario, positions


def _sorted(problems: list[Problem]) -> list[Problem]:
    return sorted(problems, key=lambda p: (p.line, p.col))


def _raw_references(data: Any) -> list[tuple[Loc, str]]:
    """The id references of raw data whose fields failed validation (none if reading them fails)."""
    try:
        return id_reference_problems(expand_pledges(data))
    except Exception:  # odd shapes are the field errors' business; never hide them behind a crash
        return []


def _one_per_place(first: list[Problem], then: list[Problem]) -> list[Problem]:
    """``first`` plus the problems of ``then`` at a place none of ``first`` covers.

    A value the reader refused (an impossible date, a duplicate key) comes to the model as
    null or not at all: what the model then says about it, or anything under it, is noise. A
    field error at an id and an unknown-id problem at the same place are one problem: the
    field error says it.
    """
    return first + [p for p in then if not any(_covers(q.path, p.path) for q in first)]


def _covers(outer: str, inner: str) -> bool:
    """Whether the field path ``outer`` is ``inner`` or one of its ancestors (``""`` is the file)."""
    return outer == "" or inner == outer or inner.startswith((outer + ".", outer + "["))


def _strategy_problems(scenario: Scenario, positions: Positions) -> list[Problem]:
    try:
        found = strategy_problems(scenario)
    except Exception:
        # strategy_problems met something it does not expect; retry override by override so the
        # culprit gets its own line instead of taking the whole load down.
        found = []
        for i, st in enumerate(scenario.strategies):
            for path in st.overrides:
                message = _try_override(scenario, i, path)
                if message is not None:
                    found.append((("strategies", i, "overrides", path), message))
    problems = []
    for loc, message in found:
        loc = tuple(loc)
        if len(loc) == 4 and loc[0] == "strategies" and isinstance(loc[1], int) and message.startswith("makes "):
            message = _try_override(scenario, loc[1], str(loc[3])) or message
        problems.append(positions.problem(loc, message))
    return problems


def _try_override(scenario: Scenario, index: int, path: str) -> str | None:
    """Why one override of strategy ``index`` fails, in this module's words (None: it applies)."""
    try:
        value = scenario.strategies[index].overrides[path]
        apply_overrides(scenario, {path: value}, ("strategies", index, "overrides"))
    except StrategyProblem as exc:
        # apply_overrides raises ``from None``: the ValidationError is still the context.
        cause = exc.__context__
        if not isinstance(cause, ValidationError):
            return exc.message
        err: dict[str, Any] = dict(cause.errors(include_url=False)[0])
        first = _problems_of(err, Positions("", None))[:1]
        if not first:
            return exc.message
        return f"makes {first[0].path or 'the scenario'} invalid: {first[0].message}"
    except Exception as exc:
        return f"cannot apply ({type(exc).__name__}: {clip(str(exc))})"
    return None


# --------------------------------------------------------------------------- pydantic errors


@dataclass(frozen=True)
class _Resolved:
    """A pydantic ``loc`` walked along the schema: the file's path and what sits there."""

    loc: Loc
    owner: type[BaseModel] | None  # the model whose field (or unknown key) ends ``loc``
    annotation: Any  # the type expected at ``loc`` (None when unknown)
    is_key: bool  # the error is about a mapping key itself


def _unwrap(ann: Any) -> Any:
    """Strip ``Annotated`` and ``Optional`` wrappers."""
    while True:
        if get_origin(ann) is Annotated:
            ann = get_args(ann)[0]
            continue
        if get_origin(ann) in (Union, types.UnionType):
            members = [a for a in get_args(ann) if a is not type(None)]
            if len(members) == 1:
                ann = members[0]
                continue
        return ann


def _is_model(ann: Any) -> bool:
    return isinstance(ann, type) and issubclass(ann, BaseModel)


def _union_members(ann: Any) -> list[type[BaseModel]]:
    if get_origin(ann) not in (Union, types.UnionType):
        return []
    return [m for m in (_unwrap(a) for a in get_args(ann)) if _is_model(m)]


def _tag_of(model: type[BaseModel]) -> tuple[str, list[str]] | None:
    """(discriminator field, its literal values) of a union member.

    The language's tags are ``kind``, ``dist`` and ``rule``; another literal field of the
    model (a hub's ``serve``...) is a choice, not its tag.
    """
    literals = {n: info for n, info in model.model_fields.items() if get_origin(info.annotation) is Literal}
    for name in (*_TAGS, *literals):
        info = literals.get(name)
        if info is not None:
            return name, [str(v) for v in get_args(info.annotation)]
    return None


def _union_tags(ann: Any) -> list[str]:
    tags: list[str] = []
    for member in _union_members(ann):
        tag = _tag_of(member)
        if tag is not None:
            tags.extend(tag[1])
    return tags


def _resolve(raw: tuple[Any, ...]) -> _Resolved:
    """Drop what pydantic inserts into a loc (union tags, validator names, ``[key]``)."""
    ann: Any = Scenario
    out: list[str | int] = []
    owner: type[BaseModel] | None = None
    is_key = False
    for elem in raw:
        ann = _unwrap(ann)
        if elem == "[key]":
            is_key = True
            continue
        if _is_model(ann):
            fields = ann.model_fields
            match = next((n for n, f in fields.items() if elem in (n, f.alias)), None)
            if match is not None:
                out.append(fields[match].alias or match)
                owner, ann = ann, fields[match].annotation
                continue
            if isinstance(elem, str) and _FUNCTION_LOC.match(elem):
                continue
            out.append(elem)
            owner, ann = ann, None
            continue
        if isinstance(elem, str) and _FUNCTION_LOC.match(elem):
            continue
        members = _union_members(ann)
        if members:
            member = next((m for m in members if (t := _tag_of(m)) is not None and str(elem) in t[1]), None)
            if member is not None:
                ann = member
                continue
        origin = get_origin(ann)
        args = get_args(ann)
        if origin in (list, tuple) and isinstance(elem, int) and args:
            ann = args[0]
        elif origin is dict and len(args) == 2:
            ann = args[1]
        else:
            ann = None
        out.append(elem)
        owner = None
    return _Resolved(tuple(out), owner, _unwrap(ann) if ann is not None else None, is_key)


def _problems_of(err: dict[str, Any], positions: Positions) -> list[Problem]:
    """One pydantic error -> the Problem(s) it stands for."""
    etype = str(err.get("type", ""))
    ctx: dict[str, Any] = dict(err.get("ctx") or {})
    if etype == "reference" and isinstance(ctx.get("problems"), list):
        return [positions.problem(tuple(loc), str(msg)) for loc, msg in ctx["problems"]]

    res = _resolve(tuple(err.get("loc", ())))
    loc = res.loc
    at_key = res.is_key or etype == "extra_forbidden"
    value = err.get("input")

    if etype in ("union_tag_invalid", "union_tag_not_found"):
        disc = str(ctx.get("discriminator", "kind")).strip("'\"")
        expected = ", ".join(_union_tags(res.annotation)) or str(ctx.get("expected_tags", "")).replace("'", "")
        if etype == "union_tag_invalid":
            tag = ctx.get("tag")
            hint = did_you_mean(tag, expected.split(", ")) if isinstance(tag, str) else ""
            return [positions.problem((*loc, disc), f"unknown {disc} {_show(tag)}{hint} (expected one of: {expected})")]
        if isinstance(value, dict):
            return [positions.problem((*loc, disc), f"required (one of: {expected})")]
        return [positions.problem(loc, f"must be a mapping with a {disc!r} key (got {_got(value, loc, positions)})")]

    # A path below a scalar in the file is synthetic (``transit_days: -1`` is validated as
    # ``{dist: fixed, value: -1}``): report it at the value the planner wrote.
    matched = positions.matched(loc)
    if matched < len(loc) and isinstance(positions.node_at(loc[:matched]), ScalarNode):
        loc = loc[:matched]

    got = _show(value) if res.is_key else _got(value, loc, positions)  # a key's input is the key
    message = _message(etype, ctx, str(err.get("msg", "")), got, value, res, loc)
    return [positions.problem(loc, message, at_key=at_key)]


def _message(etype: str, ctx: dict[str, Any], msg: str, got: str, value: Any, res: _Resolved, loc: Loc) -> str:
    g = f" (got {got})"
    if etype == "missing":
        return "required"
    if etype == "extra_forbidden":
        allowed = sorted((f.alias or n) for n, f in res.owner.model_fields.items()) if res.owner else []
        key = str(loc[-1]) if loc else ""
        hint = did_you_mean(key, allowed)
        return f"unknown key{hint} (allowed: {', '.join(allowed)})" if allowed else "unknown key"
    bounds = {"greater_than": ("gt", ">"), "greater_than_equal": ("ge", ">="), "less_than": ("lt", "<")}
    bounds["less_than_equal"] = ("le", "<=")
    if etype in bounds:
        name, op = bounds[etype]
        return f"must be {op} {_num(ctx.get(name))}{g}"
    if etype == "finite_number":
        return f"must be a finite number{g}"
    if etype in ("int_type", "int_parsing"):
        return f"must be an integer{g}"
    if etype == "int_from_float":
        return f"must be a whole number{g}"
    if etype == "int_parsing_size":
        return f"number too large{g}"
    if etype in ("float_type", "float_parsing"):
        return f"must be a number{g}"
    if etype in ("string_type", "string_sub_type"):
        return f"must be a string{g}"
    if etype == "string_too_short":
        n = ctx.get("min_length", 1)
        return "must not be empty" if n == 1 else f"must have at least {n} characters{g}"
    if etype == "string_too_long":
        size = f"{len(value)} characters" if isinstance(value, str) else got
        return f"must have at most {ctx.get('max_length')} characters (got {size})"
    if etype == "string_pattern_mismatch":
        if ctx.get("pattern") == _ID_PATTERN:
            return f"must be an id: a letter, then letters, digits, '_' or '-'{g}"
        return f"must match {ctx.get('pattern')}{g}"
    if etype in ("bool_type", "bool_parsing"):
        return f"must be true or false{g}"
    if etype in ("list_type", "tuple_type", "set_type"):
        return f"must be a list{g}"
    if etype in ("too_short", "too_long"):
        n = ctx.get("min_length" if etype == "too_short" else "max_length")
        word = "at least" if etype == "too_short" else "at most"
        return f"must have {word} {n} entr{'y' if n == 1 else 'ies'} (got {ctx.get('actual_length', '?')})"
    if etype in ("dict_type", "model_type", "model_attributes_type"):
        if res.annotation is not None and schema.Fixed in _union_members(res.annotation):
            return f"must be a number of days or a distribution like {{dist: uniform, low: 1, high: 3}}{g}"
        return f"must be a mapping{g}"
    if etype.startswith("date") or etype.startswith("datetime"):
        return f"must be a date YYYY-MM-DD{g}"
    if etype in ("literal_error", "enum"):
        expected = str(ctx.get("expected", "")).replace("'", "")
        return f"must be one of {expected}{g}"
    if etype in ("value_error", "assertion_error"):
        return re.sub(r"^(Value|Assertion) error, ", "", msg)
    return msg


def _num(value: Any) -> str:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e16:
        return str(int(value))
    return _show(value, quote=False)


def _got(value: Any, loc: Loc, positions: Positions) -> str:
    """What the planner wrote at ``loc`` (the source text when the file spells it out)."""
    node = positions.node_at(loc)
    if isinstance(node, ScalarNode) and isinstance(node.value, str):
        if str(node.tag) == YAML_TAG + "str":
            return repr(clip(node.value))
        return clip(node.value) or "null"
    if isinstance(node, MappingNode):
        return "a mapping"
    if isinstance(node, SequenceNode):
        return "a list"
    return _show(value)


def _show(value: Any, quote: bool = True) -> str:
    """A short, safe rendering of a Python value (never fails, never huge)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        if abs(value) >= 10**30:
            return f"a {int(value.bit_length() * math.log10(2)) + 1}-digit number"
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, str):
        return repr(clip(value)) if quote else clip(value)
    return type(value).__name__
