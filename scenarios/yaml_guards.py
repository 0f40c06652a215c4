"""YAML guards: scenario bytes -> checked node tree -> plain Python data, refusing the dangerous.

The first three stages of loading a scenario (``scenarios.load`` runs the fourth, the model);
a file that fails one goes no further, and the failure is a ``Stop`` holding its problems:

1. bytes (``read_bytes``, ``decode``): at most ``MAX_BYTES`` (checked before the file is
   read whole), valid UTF-8, no control characters;
2. events (``compose``): the YAML 1.2 parser's event stream is walked first, and anchors,
   aliases, explicit tags (``!!python/object``, ``!!str``...), nesting deeper than
   ``MAX_DEPTH``, a second document and an empty file are refused before anything is built
   (so an alias bomb or a 100,000-deep nesting fails in milliseconds); the checked events
   are then composed into ruamel nodes, whose marks give every line and column;
3. nodes (``PlainReader``): the tree becomes plain Python data (``dict``/``list``/``str``/
   ``int``/``float``/``bool``/``None``/``datetime.date``); keys must be strings and unique,
   numbers of sane size; every problem is collected with its position.
"""

from __future__ import annotations

import datetime as dt
import re
import stat
from pathlib import Path
from typing import Any

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

from scenarios.errors import Problem, format_path
from scenarios.positions import Loc, node_position

__all__ = [
    "EMPTY_FILE",
    "MAX_BYTES",
    "MAX_DEPTH",
    "MAX_INT_DIGITS",
    "YAML_TAG",
    "PlainReader",
    "Stop",
    "clip",
    "compose",
    "decode",
    "read_bytes",
    "text_position",
    "yaml_problem",
]

MAX_BYTES = 5_000_000
"""Largest scenario file accepted (bytes)."""
MAX_DEPTH = 64
"""Deepest nesting of mappings and sequences accepted."""
MAX_INT_DIGITS = 4000
"""Longest integer literal accepted (Python refuses to convert past ~4300 digits)."""

YAML_TAG = "tag:yaml.org,2002:"
"""Prefix of the YAML core schema's tags (``tag:yaml.org,2002:str``...)."""
# Characters YAML forbids in a stream (the same set ruamel's reader enforces).
_NON_PRINTABLE = re.compile("[^\x09\x0a\x0d\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


class Stop(Exception):
    """A stage found problems and the file goes no further (``scenarios.load`` turns it into a ``ScenarioError``)."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__()
        self.problems = problems


# --------------------------------------------------------------------------- stage 1: bytes


def read_bytes(path: Path, name: str) -> bytes:
    def fail(message: str) -> Stop:
        return Stop([Problem(name, 1, 1, "", message)])

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


def text_position(text: str, index: int) -> tuple[int, int]:
    """1-based (line, column) of character ``index`` of ``text``."""
    line = text.count("\n", 0, index) + 1
    return line, index - (text.rfind("\n", 0, index) + 1) + 1


def decode(data: bytes, file: str) -> str:
    if len(data) > MAX_BYTES:
        raise Stop([Problem(file, 1, 1, "", _too_large(len(data)))])
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
        raise Stop([Problem(file, line, col, "", message)]) from None
    bad = _NON_PRINTABLE.search(text)
    if bad is not None:
        line, col = text_position(text, bad.start())
        message = f"control character U+{ord(bad.group()):04X} is not allowed (is this a binary file?)"
        raise Stop([Problem(file, line, col, "", message)])
    return text


# --------------------------------------------------------------------------- stage 2: events


def _show_tag(tag: str) -> str:
    return "!!" + tag[len(YAML_TAG) :] if tag.startswith(YAML_TAG) else tag


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


def compose(text: str, file: str) -> Node | None:
    """The file's node tree (None when it has no document), built only from checked events."""
    cut = _flow_cut(text)
    if cut is not None:
        # The prefix's events are the file's own (bar the last few keys, which only the
        # lookahead could reveal, and which would only add depth): a refusal there is exact.
        try:
            _walk_events(text[:cut], file)
        except Stop:
            raise
        except Exception:
            pass  # the prefix ends mid-token (brackets inside a string...): walk the whole file
    events = _walk_events(text, file)
    return _build(events)


def _walk_events(text: str, file: str) -> list[Any]:
    """The parser's events, once every one has passed the guards; stops at the first refusal."""

    def stop(event: Any, message: str) -> Stop:
        line, col = _mark_of(event.start_mark)
        return Stop([Problem(file, line, col, "", message)])

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
        raise Stop([Problem(file, 1, 1, "", EMPTY_FILE)])
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


EMPTY_FILE = "the file is empty (expected a mapping with name, start, horizon_days, items, nodes, ...)"


def _mark_of(mark: Any) -> tuple[int, int]:
    if mark is None:
        return (1, 1)
    return (int(mark.line) + 1, int(mark.column) + 1)


def yaml_problem(exc: MarkedYAMLError, file: str) -> Problem:
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


class PlainReader:
    """Node tree -> plain Python data, collecting every problem with its position."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.problems: list[Problem] = []
        self._scalars = _yaml().constructor

    def problem(self, node: Node, loc: Loc, message: str) -> None:
        line, col = node_position(node)
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
                    line = node_position(first[key])[0]
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
        if tag == YAML_TAG + "merge":
            self.problem(node, loc, "merge keys (<<) are not supported; write the keys out")
            return None
        if tag != YAML_TAG + "str" or not isinstance(node.value, str):
            self.problem(node, loc, f"mapping keys must be strings (got {clip(str(node.value))}); quote it")
            return None
        return node.value

    def scalar(self, node: Node, loc: Loc) -> Any:
        tag = str(node.tag)
        text = str(node.value)
        if tag == YAML_TAG + "str":
            return text
        if tag == YAML_TAG + "int":
            digits = sum(ch.isdigit() for ch in text)
            if digits > MAX_INT_DIGITS:
                self.problem(node, loc, f"number too large ({digits} digits)")
                return None
        try:
            value = self._scalars.construct_object(node, deep=True)
        except (ValueError, OverflowError, ArithmeticError):
            what = "number" if tag in (YAML_TAG + "int", YAML_TAG + "float") else "date"
            self.problem(node, loc, f"not a valid {what} (got {clip(text)})")
            return None
        except Exception as exc:  # anything ruamel's constructor can throw: the scalar is unusable
            self.problem(node, loc, f"cannot read this value ({type(exc).__name__}: {clip(str(exc))})")
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


def clip(text: str, limit: int = 60) -> str:
    """``text`` cut to ``limit`` characters (ending in ``...`` when cut)."""
    return text if len(text) <= limit else text[: limit - 3] + "..."
