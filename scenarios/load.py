"""YAML -> Scenario: the guarded edge where a scenario file becomes a validated ``Scenario``.

Reading happens in stages; a file that fails stage 1 or 2 goes no further:

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
import stat
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError
from ruamel.yaml.events import (
    AliasEvent,
    CollectionEndEvent,
    DocumentStartEvent,
    MappingStartEvent,
    NodeEvent,
    ScalarEvent,
    SequenceStartEvent,
)
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from ruamel.yaml.resolver import VersionedResolver

from scenarios import schema
from scenarios.errors import Problem, ScenarioError, format_path
from scenarios.pledges import expand_pledges
from scenarios.refs import did_you_mean, id_reference_problems
from scenarios.schema import Scenario
from scenarios.strategies import StrategyProblem, apply_overrides, strategy_problems

__all__ = ["MAX_BYTES", "MAX_DEPTH", "MAX_INT_DIGITS", "Positions", "load", "load_text", "load_with_positions"]

MAX_BYTES = 5_000_000
"""Largest scenario file accepted (bytes)."""
MAX_DEPTH = 64
"""Deepest nesting of mappings and sequences accepted."""
MAX_INT_DIGITS = 4000
"""Longest integer literal accepted (Python refuses to convert past ~4300 digits)."""

Loc = tuple[str | int, ...]

_YAML_TAG = "tag:yaml.org,2002:"
# Characters YAML forbids in a stream (the same set ruamel's reader enforces).
_NON_PRINTABLE = re.compile("[^\x09\x0a\x0d\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_FUNCTION_LOC = re.compile(r"^function-(?:before|after|wrap|plain)\[.*\]$", re.DOTALL)
_ID_PATTERN = r"^[A-Za-z][A-Za-z0-9_\-]*$"
_TAGS = ("kind", "dist", "rule")
"""Discriminator fields of the language's tagged unions."""


class _Stop(Exception):
    """Internal: a stage found problems and the file goes no further."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__()
        self.problems = problems


def _field_aliases() -> dict[str, str]:
    """Python field name -> the key written in files, for the few fields with an alias."""
    out: dict[str, str] = {}
    for obj in vars(schema).values():
        if isinstance(obj, type) and issubclass(obj, BaseModel):
            for name, info in obj.model_fields.items():
                if info.alias and info.alias != name:
                    out[name] = info.alias
    return out


_ALIASES = _field_aliases()


# --------------------------------------------------------------------------- positions


class Positions:
    """Line and column (1-based) of any field path of one loaded file.

    ``locate`` gives the position of the value at ``loc``; when the path does not exist in the
    file (a missing key, a default), that of the deepest ancestor that does.

    Example:
        >>> _, where = load_with_positions("scenarios/small_routers.yaml")  # doctest: +SKIP
        >>> where.locate(("links", 0, "vehicles"))  # doctest: +SKIP
        (130, 15)
    """

    def __init__(self, file: str, root: Node | None) -> None:
        self.file = file
        self._root = root
        self._index: dict[int, dict[str, tuple[Node, Node]]] = {}

    def _entries(self, node: MappingNode) -> dict[str, tuple[Node, Node]]:
        """The mapping's (key node, value node) by key; the first of duplicate keys wins."""
        entries = self._index.get(id(node))
        if entries is None:
            entries = {}
            for knode, vnode in node.value:
                if isinstance(knode, ScalarNode) and isinstance(knode.value, str):
                    entries.setdefault(knode.value, (knode, vnode))
            self._index[id(node)] = entries
        return entries

    def _walk(self, loc: Loc) -> tuple[Node | None, Node | None, int]:
        """(value node, key node, how many elements of ``loc`` matched) of the deepest match."""
        node, key = self._root, None
        depth = 0
        for part in loc:
            if isinstance(node, MappingNode):
                entries = self._entries(node)
                name = str(part)
                found = entries.get(name) or entries.get(_ALIASES.get(name, name))
                if found is None:
                    break
                key, node = found
            elif isinstance(node, SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
                key, node = None, node.value[part]
            else:
                break
            depth += 1
        return node, key, depth

    def node_at(self, loc: Loc) -> Node | None:
        """The node at exactly ``loc``, or None when the file does not spell it out."""
        node, _, depth = self._walk(loc)
        return node if depth == len(loc) else None

    def matched(self, loc: Loc) -> int:
        """How many leading elements of ``loc`` exist in the file."""
        return self._walk(loc)[2]

    def locate(self, loc: Loc) -> tuple[int, int]:
        """1-based (line, column) of the value at ``loc`` (or of its deepest existing ancestor)."""
        node = self._walk(tuple(loc))[0]
        return _mark(node)

    def locate_key(self, loc: Loc) -> tuple[int, int]:
        """1-based (line, column) of the key that ends ``loc``; ``locate(loc)`` if there is none."""
        node, key, depth = self._walk(tuple(loc))
        if depth == len(loc) and key is not None:
            return _mark(key)
        return _mark(node)

    def path(self, loc: Loc) -> str:
        """``loc`` as written in the file (``from_`` -> ``from``), e.g. ``links[3].from``."""
        return format_path(tuple(_ALIASES.get(p, p) if isinstance(p, str) else p for p in loc))

    def problem(self, loc: Loc, message: str, *, at_key: bool = False) -> Problem:
        """A ``Problem`` about ``loc`` at its position in this file."""
        line, col = self.locate_key(loc) if at_key else self.locate(loc)
        return Problem(self.file, line, col, self.path(loc), message)


def _mark(node: Node | None) -> tuple[int, int]:
    if node is None or node.start_mark is None:
        return (1, 1)
    return (node.start_mark.line + 1, node.start_mark.column + 1)


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
        data = _read(Path(path), name)
        return _load_bytes(data, name)
    except _Stop as stop:
        raise ScenarioError(stop.problems) from None


def load_text(text: str | bytes, filename: str = "<text>") -> tuple[Scenario, Positions]:
    """Load a scenario from text (or raw bytes) as if it were the file ``filename``."""
    try:
        if isinstance(text, str):
            try:
                raw = text.encode("utf-8")
            except UnicodeEncodeError as exc:
                line, col = _text_position(text, exc.start)
                raise _Stop([Problem(filename, line, col, "", "invalid character (a lone surrogate)")]) from None
        elif isinstance(text, bytes | bytearray | memoryview):
            raw = bytes(text)
        else:
            raise _Stop([Problem(filename, 1, 1, "", f"cannot read: expected text, got {type(text).__name__}")])
        return _load_bytes(raw, filename)
    except _Stop as stop:
        raise ScenarioError(stop.problems) from None


# --------------------------------------------------------------------------- stage 1: bytes


def _read(path: Path, name: str) -> bytes:
    def fail(message: str) -> _Stop:
        return _Stop([Problem(name, 1, 1, "", message)])

    try:
        st = path.stat()
    except FileNotFoundError:
        raise fail("cannot read: no such file") from None
    except (OSError, ValueError) as exc:
        raise fail(f"cannot read: {_os_reason(exc)}") from None
    if stat.S_ISDIR(st.st_mode):
        raise fail("cannot read: it is a directory")
    if not stat.S_ISREG(st.st_mode):
        raise fail("cannot read: not a regular file")
    if st.st_size > MAX_BYTES:
        raise fail(_too_large(st.st_size))
    try:
        with path.open("rb") as fh:
            data = fh.read(MAX_BYTES + 1)
    except (OSError, ValueError) as exc:
        raise fail(f"cannot read: {_os_reason(exc)}") from None
    if len(data) > MAX_BYTES:
        raise fail(_too_large(len(data)))
    return data


def _os_reason(exc: BaseException) -> str:
    reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return reason[0].lower() + reason[1:]


def _too_large(size: int) -> str:
    return f"the file is too large ({size / 1e6:.1f} MB; the limit is {MAX_BYTES / 1e6:g} MB)"


def _text_position(text: str, index: int) -> tuple[int, int]:
    """1-based (line, column) of character ``index`` of ``text``."""
    line = text.count("\n", 0, index) + 1
    return line, index - (text.rfind("\n", 0, index) + 1) + 1


def _decode(data: bytes, file: str) -> str:
    if len(data) > MAX_BYTES:
        raise _Stop([Problem(file, 1, 1, "", _too_large(len(data)))])
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        start = exc.start
        line_start = data.rfind(b"\n", 0, start) + 1
        line = data.count(b"\n", 0, start) + 1
        col = len(data[line_start:start].decode("utf-8", errors="replace")) + 1
        message = f"not valid UTF-8 (byte 0x{data[start]:02x}); save the file as UTF-8"
        raise _Stop([Problem(file, line, col, "", message)]) from None
    bad = _NON_PRINTABLE.search(text)
    if bad is not None:
        line, col = _text_position(text, bad.start())
        message = f"control character U+{ord(bad.group()):04X} is not allowed (is this a binary file?)"
        raise _Stop([Problem(file, line, col, "", message)])
    return text


# --------------------------------------------------------------------------- stage 2: events


def _show_tag(tag: str) -> str:
    return "!!" + tag[len(_YAML_TAG) :] if tag.startswith(_YAML_TAG) else tag


_FLOW_BRACKETS = re.compile(r"[\[\]{}]")


def _flow_cut(text: str) -> int | None:
    """Where naive bracket counting first passes ``MAX_DEPTH`` (end index), or None.

    ruamel's scanner looks up to 1024 characters ahead for a possible key inside flow
    collections, at a cost that grows with the nesting, so a 100,000-deep ``[[[[...`` takes
    a noticeable time to refuse. Counting brackets is instant; when it suspects deep
    nesting, ``_compose`` walks just the text up to that point to confirm.
    """
    depth = 0
    for match in _FLOW_BRACKETS.finditer(text):
        if match.group() in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return match.end()
        elif depth:
            depth -= 1
    return None


def _compose(text: str, file: str) -> Node | None:
    """The file's node tree (None when it has no document), built only from checked events."""
    cut = _flow_cut(text)
    if cut is not None:
        # The prefix's events are the file's own (bar the last few keys, which only the
        # lookahead could reveal, and which would only add depth): a refusal there is exact.
        try:
            _walk_events(text[:cut], file)
        except _Stop:
            raise
        except Exception:
            pass  # the prefix ends mid-token (brackets inside a string...): walk the whole file
    events = _walk_events(text, file)
    return _build(events)


def _walk_events(text: str, file: str) -> list[Any]:
    """The parser's events, once every one has passed the guards; stops at the first refusal."""

    def stop(event: Any, message: str) -> _Stop:
        line, col = _mark_of(event.start_mark)
        return _Stop([Problem(file, line, col, "", message)])

    events: list[Any] = []
    depth = 0
    documents = 0
    for event in _yaml().parse(text):
        if isinstance(event, DocumentStartEvent):
            documents += 1
            if documents > 1:
                raise stop(event, "a file holds one YAML document; a second one starts here")
            version = getattr(event, "version", None)
            if version is not None and tuple(version) != (1, 2):
                shown = ".".join(str(v) for v in version)
                raise stop(event, f"only YAML 1.2 is supported (the file says %YAML {shown})")
        elif isinstance(event, AliasEvent):
            raise stop(event, f"aliases are not allowed (*{event.anchor}); write the value out")
        elif isinstance(event, NodeEvent):
            if event.anchor is not None:
                raise stop(event, f"anchors are not allowed (&{event.anchor}); write the value out")
            tag = getattr(event, "tag", None)
            if tag is not None:
                raise stop(event, f"explicit tags are not allowed ({_show_tag(str(tag))})")
            if isinstance(event, MappingStartEvent | SequenceStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    raise stop(event, f"nesting is deeper than {MAX_DEPTH} levels")
            events.append(event)
        elif isinstance(event, CollectionEndEvent):
            depth -= 1
            events.append(event)
    if documents == 0:
        raise _Stop([Problem(file, 1, 1, "", _EMPTY)])
    return events


def _build(events: list[Any]) -> Node | None:
    """Compose nodes from checked events, as ruamel's Composer would (minus anchors and tags).

    Composing from the events already walked saves parsing the file a second time, which is
    most of the cost of loading.
    """
    resolver = VersionedResolver(version=(1, 2))
    root: Node | None = None
    open_nodes: list[Node] = []
    keys: list[Node | None] = []  # per open mapping: the key waiting for its value
    for event in events:
        node: Node
        if isinstance(event, CollectionEndEvent):
            open_nodes.pop().end_mark = event.end_mark
            keys.pop()
            continue
        if isinstance(event, ScalarEvent):
            tag = resolver.resolve(ScalarNode, event.value, event.implicit)
            node = ScalarNode(tag, event.value, event.start_mark, event.end_mark, style=event.style)
        elif isinstance(event, MappingStartEvent):
            tag = resolver.resolve(MappingNode, None, event.implicit)
            node = MappingNode(tag, [], event.start_mark, None, flow_style=event.flow_style)
        else:
            tag = resolver.resolve(SequenceNode, None, event.implicit)
            node = SequenceNode(tag, [], event.start_mark, None, flow_style=event.flow_style)
        if not open_nodes:
            root = node
        elif isinstance(open_nodes[-1], SequenceNode):
            open_nodes[-1].value.append(node)
        elif keys[-1] is None:
            keys[-1] = node
        else:
            open_nodes[-1].value.append((keys[-1], node))
            keys[-1] = None
        if isinstance(node, MappingNode | SequenceNode):
            open_nodes.append(node)
            keys.append(None)
    return root


def _yaml() -> YAML:
    """A YAML 1.2 parser (and scalar constructor).

    The safe pipeline rather than the round-trip one: the same events and marks, but it does
    not gather comments (2-3x faster), and the round-trip composer marks the fold points of
    ``>`` scalars with BEL characters in node values.
    """
    return YAML(typ="safe", pure=True)


_EMPTY = "the file is empty (expected a mapping with name, start, horizon_days, items, nodes, ...)"


def _mark_of(mark: Any) -> tuple[int, int]:
    if mark is None:
        return (1, 1)
    return (int(mark.line) + 1, int(mark.column) + 1)


def _yaml_problem(exc: MarkedYAMLError, file: str) -> Problem:
    mark = exc.problem_mark or exc.context_mark
    line, col = _mark_of(mark)
    problem = " ".join(str(exc.problem or "").split()) or "cannot parse"
    message = f"YAML syntax error: {problem}"
    context = " ".join(str(exc.context or "").split())
    if context and exc.context_mark is not None and _mark_of(exc.context_mark)[0] != line:
        message += f" ({context} that starts at line {_mark_of(exc.context_mark)[0]})"
    if "\\t" in problem or "\t" in problem:
        message += "; indent with spaces, not tabs"
    return Problem(file, line, col, "", message)


# --------------------------------------------------------------------------- stage 3: nodes


class _Plain:
    """Node tree -> plain Python data, collecting every problem with its position."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.problems: list[Problem] = []
        self._scalars = _yaml().constructor

    def problem(self, node: Node, loc: Loc, message: str) -> None:
        line, col = _mark(node)
        self.problems.append(Problem(self.file, line, col, format_path(loc), message))

    def convert(self, node: Node, loc: Loc) -> Any:
        if isinstance(node, MappingNode):
            out: dict[str, Any] = {}
            first: dict[str, Node] = {}
            for knode, vnode in node.value:
                key = self.key(knode, loc)
                if key is None:
                    continue
                if key in first:
                    line = _mark(first[key])[0]
                    self.problem(knode, (*loc, key), f"duplicate key {key!r} (first at line {line})")
                    continue
                first[key] = knode
                out[key] = self.convert(vnode, (*loc, key))
            return out
        if isinstance(node, SequenceNode):
            return [self.convert(child, (*loc, i)) for i, child in enumerate(node.value)]
        return self.scalar(node, loc)

    def key(self, node: Node, loc: Loc) -> str | None:
        if not isinstance(node, ScalarNode):
            kind = "a mapping" if isinstance(node, MappingNode) else "a list"
            self.problem(node, loc, f"mapping keys must be strings (got {kind})")
            return None
        tag = str(node.tag)
        if tag == _YAML_TAG + "merge":
            self.problem(node, loc, "merge keys (<<) are not supported; write the keys out")
            return None
        if tag != _YAML_TAG + "str" or not isinstance(node.value, str):
            self.problem(node, loc, f"mapping keys must be strings (got {_clip(str(node.value))}); quote it")
            return None
        return node.value

    def scalar(self, node: Node, loc: Loc) -> Any:
        tag = str(node.tag)
        text = str(node.value)
        if tag == _YAML_TAG + "str":
            return text
        if tag == _YAML_TAG + "int":
            digits = sum(ch.isdigit() for ch in text)
            if digits > MAX_INT_DIGITS:
                self.problem(node, loc, f"number too large ({digits} digits)")
                return None
        try:
            value = self._scalars.construct_object(node, deep=True)
        except (ValueError, OverflowError, ArithmeticError):
            what = "number" if tag in (_YAML_TAG + "int", _YAML_TAG + "float") else "date"
            self.problem(node, loc, f"not a valid {what} (got {_clip(text)})")
            return None
        except Exception as exc:  # anything ruamel's constructor can throw: the scalar is unusable
            self.problem(node, loc, f"cannot read this value ({type(exc).__name__}: {_clip(str(exc))})")
            return None
        return _plain_scalar(value)


def _plain_scalar(value: Any) -> Any:
    """Strip ruamel's subclasses so pydantic only ever sees built-in types."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, dt.datetime):
        return dt.datetime(
            value.year, value.month, value.day, value.hour, value.minute, value.second, value.microsecond, value.tzinfo
        )
    if isinstance(value, dt.date):
        return dt.date(value.year, value.month, value.day)
    return str(value)


# --------------------------------------------------------------------------- stage 4: model


def _load_bytes(data: bytes, file: str) -> tuple[Scenario, Positions]:
    text = _decode(data, file)
    try:
        root = _compose(text, file)
    except MarkedYAMLError as exc:
        raise _Stop([_yaml_problem(exc, file)]) from None
    except _Stop:
        raise
    except Exception as exc:  # ruamel's reader and odd corners: never let them escape
        raise _Stop([Problem(file, 1, 1, "", f"cannot parse: {type(exc).__name__}: {_clip(str(exc), 200)}")]) from None

    if root is None or (isinstance(root, ScalarNode) and root.value == "" and str(root.tag) == _YAML_TAG + "null"):
        raise _Stop([Problem(file, 1, 1, "", _EMPTY)])
    if not isinstance(root, MappingNode):
        line, col = _mark(root)
        kind = "a list" if isinstance(root, SequenceNode) else _clip(str(root.value))
        raise _Stop([Problem(file, line, col, "", f"the top level must be a mapping of scenario keys (got {kind})")])

    plain = _Plain(file)
    data_tree = plain.convert(root, ())
    positions = Positions(file, root)
    try:
        scenario = Scenario.model_validate(data_tree)
        if plain.problems:  # the data read around them is valid: they are all there is to say
            raise _Stop(_sorted(plain.problems))
    except _Stop:
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
        raise _Stop(_sorted(problems)) from None
    except Exception as exc:  # a bug in a validator: still a ScenarioError, and say so
        raise _Stop(
            [Problem(file, 1, 1, "", f"internal error while validating ({type(exc).__name__}: {exc})")]
        ) from None

    strategy = _strategy_problems(scenario, positions)
    if strategy:
        raise _Stop(_sorted(strategy))
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
        return f"cannot apply ({type(exc).__name__}: {_clip(str(exc))})"
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
        if str(node.tag) == _YAML_TAG + "str":
            return repr(_clip(node.value))
        return _clip(node.value) or "null"
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
        return repr(_clip(value)) if quote else _clip(value)
    return type(value).__name__


def _clip(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."
