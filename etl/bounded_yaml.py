"""YAML read with bounds: what a small file may expand to. A config is a few levels deep and
holds at most some hundred thousand values; YAML's aliases let a 450-byte file stand for a
billion values (an "alias bomb"), and a file of brackets nests as deep as it is long. Both are
refused while the document is composed, before any value is built: a `yaml.YAMLError` with the
line and column, as every other YAML mistake. Imports nothing of ours.
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, SequenceNode

# A config needs 5 levels (endpoints[0].targets[0].repositories[0]); 32 leaves room for any
# layout and keeps every reader of the data (recursive, as Python's are) far from its limit.
MAX_DEPTH = 32
# Values (scalars, lists and mappings) the document holds once every alias is expanded: a
# config of a thousand endpoints holds ~20,000. Validating 250,000 takes ~2 s (a million:
# ~10 s, each repository name checked against the API page's rules).
MAX_NODES = 250_000


class BoundsExceeded(yaml.MarkedYAMLError):
    """The document nests too deeply or expands to too many values (read as any YAML error)."""


def load_bounded(text: str) -> Any:
    """Return the data of the one YAML document in `text` (safe tags only), refusing one
    nested deeper than MAX_DEPTH or expanding to more than MAX_NODES values, and aliases
    that refer to a collection holding them (a cycle)."""
    return yaml.load(text, Loader=BoundedLoader)  # a SafeLoader, bounded


class BoundedLoader(yaml.SafeLoader):
    """PyYAML's safe loader, counting as it composes (see the module's docstring)."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        if self._depth >= MAX_DEPTH:
            mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
            raise BoundsExceeded(problem=too_deep(), problem_mark=mark)
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_document(self, node: Node) -> Any:
        Expansion().measure(node, 1)
        return super().construct_document(node)


def too_deep() -> str:
    return f"nested more than {MAX_DEPTH} levels deep (a config needs about 5)"


class Expansion:
    """Each node's size and height once aliases are expanded, each node measured once (an
    alias is the node it names: the same object, shared)."""

    def __init__(self) -> None:
        self.sizes: dict[int, tuple[int, int]] = {}  # id(node) -> (values, levels)
        self.open: set[int] = set()  # nodes being measured: one met again is a cycle

    def measure(self, node: Node, level: int) -> tuple[int, int]:
        """Return (values, levels) of `node` met at `level`; raise BoundsExceeded beyond the
        bounds."""
        known = self.sizes.get(id(node))
        if known is None:
            known = self._measured(node, level)
        _, height = known
        if level + height - 1 > MAX_DEPTH:
            raise BoundsExceeded(
                problem=f"{too_deep()} once its aliases are expanded", problem_mark=node.start_mark
            )
        return known

    def _measured(self, node: Node, level: int) -> tuple[int, int]:
        if id(node) in self.open:
            raise BoundsExceeded(
                problem="an alias refers to a list or mapping that holds it (a cycle)",
                problem_mark=node.start_mark,
            )
        self.open.add(id(node))
        size, height = 1, 1
        for child in children(node):
            if level >= MAX_DEPTH:
                raise BoundsExceeded(problem=too_deep(), problem_mark=child.start_mark)
            child_size, child_height = self.measure(child, level + 1)
            size += child_size
            height = max(height, child_height + 1)
            if size > MAX_NODES:
                raise BoundsExceeded(
                    problem=f"expands to more than {MAX_NODES:,} values (aliases of aliases?)",
                    problem_mark=node.start_mark,
                )
        self.open.discard(id(node))
        self.sizes[id(node)] = (size, height)
        return size, height


def children(node: Node) -> list[Node]:
    """Return the nodes a list or mapping holds (a mapping's keys and values)."""
    if isinstance(node, SequenceNode):
        return list(node.value)
    if isinstance(node, MappingNode):
        return [part for pair in node.value for part in pair]
    return []
