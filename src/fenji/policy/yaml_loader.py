"""Load policy YAML with exact decimals and remember the line of every node.

Validation messages must point at the line the author has to change, so the loader keeps a map
from a path such as ``("dimensions", "overall", "bands", 2, "min")`` to a 1-based line number.
Floats are read as :class:`~decimal.Decimal` so that ``2.5`` in the file is exactly 2.5.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import yaml

Path = tuple[str | int, ...]


class _Loader(yaml.SafeLoader):
    """SafeLoader with decimal floats and without timestamp magic (dates stay text)."""


def _construct_decimal(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> Decimal:
    text = str(loader.construct_scalar(node)).replace("_", "")
    return Decimal(text)


def _construct_str(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> str:
    return str(loader.construct_scalar(node))


_Loader.add_constructor("tag:yaml.org,2002:float", _construct_decimal)
_Loader.add_constructor("tag:yaml.org,2002:timestamp", _construct_str)


class YamlSyntaxError(ValueError):
    """The text is not valid YAML; carries the 1-based line and column."""

    def __init__(self, message: str, line: int | None, column: int | None) -> None:
        super().__init__(message)
        self.line = line
        self.column = column


def load_yaml(text: str) -> tuple[Any, dict[Path, int]]:
    """Parse YAML text into plain Python data and a map of node paths to line numbers."""
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark
        line = mark.line + 1 if mark is not None else None
        col = mark.column + 1 if mark is not None else None
        raise YamlSyntaxError(f"{err.problem or err}", line, col) from err
    except yaml.YAMLError as err:
        raise YamlSyntaxError(str(err), None, None) from err
    if node is None:
        return None, {}
    lines: dict[Path, int] = {}
    _collect_lines(node, (), lines)
    loader = _Loader("")
    try:
        data = loader.construct_document(node)
    except yaml.MarkedYAMLError as err:  # e.g. a list used as a mapping key: `? [a, b]`
        mark = err.problem_mark
        line = mark.line + 1 if mark is not None else None
        col = mark.column + 1 if mark is not None else None
        raise YamlSyntaxError(f"{err.problem or err}", line, col) from err
    finally:
        loader.dispose()
    return data, lines


def _collect_lines(node: yaml.Node, path: Path, lines: dict[Path, int]) -> None:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node)
            child = (*path, str(key))
            lines[child] = key_node.start_mark.line + 1
            _collect_lines(value_node, child, lines)
            lines[child] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _collect_lines(item, (*path, index), lines)


def line_of(lines: dict[Path, int], path: Path) -> int | None:
    """The line of the deepest known node on ``path`` (a missing field points at its parent)."""
    probe = tuple(path)
    while probe:
        if probe in lines:
            return lines[probe]
        probe = probe[:-1]
    return lines.get(())


class _Dumper(yaml.SafeDumper):
    """Dumper that writes decimals as plain numbers and keeps key order."""


def _represent_decimal(dumper: yaml.SafeDumper, value: Decimal) -> yaml.ScalarNode:
    text = format(value, "f")
    tag = "tag:yaml.org,2002:int" if "." not in text else "tag:yaml.org,2002:float"
    return dumper.represent_scalar(tag, text)


_Dumper.add_representer(Decimal, _represent_decimal)


def dump_yaml(data: Any) -> str:
    """Serialise plain data (as produced by ``Policy.to_data``) to YAML, unicode kept."""
    return yaml.dump(data, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=100)
