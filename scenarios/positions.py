"""Positions: the line and column of any field path of a loaded scenario file.

Problems found after the file became data (a pydantic error, an unknown id, a network check)
name a field path such as ``("links", 3, "vehicles")``; ``Positions`` walks the file's
ruamel node tree along that path and gives the 1-based line and column to report, so every
problem reads ``fpv.yaml:42:7 links[3].vehicles: ...``. A leaf of the loading: it knows
nodes and field names, not how the file was read or validated.
"""

from __future__ import annotations

from pydantic import BaseModel
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from scenarios import schema
from scenarios.errors import Problem, format_path

__all__ = ["Loc", "Positions", "node_position"]

Loc = tuple[str | int, ...]
"""A field path: keys and list indices from the top of the file."""


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
        return node_position(node)

    def locate_key(self, loc: Loc) -> tuple[int, int]:
        """1-based (line, column) of the key that ends ``loc``; ``locate(loc)`` if there is none."""
        node, key, depth = self._walk(tuple(loc))
        if depth == len(loc) and key is not None:
            return node_position(key)
        return node_position(node)

    def path(self, loc: Loc) -> str:
        """``loc`` as written in the file (``from_`` -> ``from``), e.g. ``links[3].from``."""
        return format_path(tuple(_ALIASES.get(p, p) if isinstance(p, str) else p for p in loc))

    def problem(self, loc: Loc, message: str, *, at_key: bool = False) -> Problem:
        """A ``Problem`` about ``loc`` at its position in this file."""
        line, col = self.locate_key(loc) if at_key else self.locate(loc)
        return Problem(self.file, line, col, self.path(loc), message)


def node_position(node: Node | None) -> tuple[int, int]:
    """1-based (line, column) where ``node`` starts; (1, 1) for none."""
    if node is None or node.start_mark is None:
        return (1, 1)
    return (node.start_mark.line + 1, node.start_mark.column + 1)
