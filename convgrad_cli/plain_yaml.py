"""YAML as plain data: what a config file or a flag may hold.

``safe_load``'s types only, so nothing is ever executed; no anchors or
aliases (``&a [*a]`` would never end), no duplicate keys, a bounded depth.
"""

from __future__ import annotations

from typing import Any

from .errors import ConfigError

#: Deeper nesting than any config needs (a 5-axis array in a mapping is 7 levels).
MAX_DEPTH = 16


def safe_yaml(text: str, where: str) -> Any:
    """YAML with plain data only: ``safe_load``'s types, no anchors or aliases
    (``&a [*a]`` would never end), no duplicate keys, at most :data:`MAX_DEPTH` deep."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _inspect(node, where)
        return loader.construct_document(node)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise ConfigError(f"{where} is not valid YAML{at}: {problem}") from None
    except (ValueError, RecursionError) as exc:  # e.g. an integer of more digits than Python converts
        raise ConfigError(f"{where} holds a value convgrad cannot read: {str(exc)[:120]}") from None
    finally:
        loader.dispose()


def _inspect(root: Any, where: str) -> None:
    import yaml

    seen: set[int] = set()
    stack = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        at = f"{where} line {node.start_mark.line + 1}"
        if id(node) in seen:
            raise ConfigError(f"{at}: anchors and aliases (&name, *name) are not allowed in a config")
        seen.add(id(node))
        if depth > MAX_DEPTH:
            raise ConfigError(f"{at}: nested deeper than {MAX_DEPTH} levels; no config needs that")
        if isinstance(node, yaml.SequenceNode):
            stack += [(child, depth + 1) for child in node.value]
        elif isinstance(node, yaml.MappingNode):
            keys: set[tuple[str, str]] = set()
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode):
                    if (key.tag, key.value) in keys:
                        raise ConfigError(
                            f"{where} line {key.start_mark.line + 1}: key {key.value!r} is given twice"
                        )
                    keys.add((key.tag, key.value))
                stack += [(key, depth + 1), (value, depth + 1)]
