"""Policy files: YAML with line marks, validated by a JSON schema; errors name file, line, field."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from seinhuis.errors import ConfigError

PathPart = str | int
_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"


class PolicyError(ConfigError):
    """A policy file is refused; the message names the file, the line and the field."""

    def __init__(self, path: Path, line: int, field: str, message: str) -> None:
        super().__init__(f"{path}:{line}: {field}: {message}")
        self.path = path
        self.line = line
        self.field = field


class _Loader(yaml.SafeLoader):
    """Safe YAML without implicit timestamps: dates stay text and are checked by the schema."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != _TIMESTAMP_TAG]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def field_name(path: Sequence[PathPart]) -> str:
    """`case_rules[2].when.min_partners` for ("case_rules", 2, "when", "min_partners")."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top)"


@dataclass(frozen=True)
class PolicyDocument:
    """A parsed policy file: its data and the YAML node tree that knows the line of each value."""

    path: Path
    data: Any
    root: yaml.Node | None

    def node_at(self, path: Sequence[PathPart], *, key: bool = False) -> yaml.Node | None:
        """The node at a data path (its key node when `key`), or the deepest one on the way."""
        node = self.root
        for i, part in enumerate(path):
            last = i == len(path) - 1
            if isinstance(node, yaml.MappingNode):
                for k, v in node.value:
                    if k.value == str(part):
                        node = k if (last and key) else v
                        break
                else:
                    return node
            elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
                if part >= len(node.value):
                    return node
                node = node.value[part]
            else:
                return node
        return node

    def line_of(self, path: Sequence[PathPart], *, key: bool = False) -> int:
        node = self.node_at(path, key=key)
        return node.start_mark.line + 1 if node is not None else 1

    def error(self, path: Sequence[PathPart], message: str, *, key: bool = False) -> PolicyError:
        return PolicyError(self.path, self.line_of(path, key=key), field_name(path), message)


def read(path: Path) -> PolicyDocument:
    """Parse a YAML policy file, refusing unreadable files, bad syntax and duplicate keys."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError(path, 1, "(file)", f"cannot read: {exc}") from exc
    loader = _Loader(text)
    try:
        root = loader.get_single_node()
        data = loader.construct_document(root) if root is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        raise PolicyError(path, line, "(syntax)", str(exc.problem or exc)) from exc
    except yaml.YAMLError as exc:
        raise PolicyError(path, 1, "(syntax)", str(exc)) from exc
    finally:
        loader.dispose()
    doc = PolicyDocument(path=path, data=data, root=root)
    for where, key_node in _duplicate_keys(root, ()):
        raise PolicyError(
            path, key_node.start_mark.line + 1, field_name(where), "key appears more than once"
        )
    return doc


def _duplicate_keys(
    node: yaml.Node | None, where: tuple[PathPart, ...]
) -> Iterator[tuple[tuple[PathPart, ...], yaml.Node]]:
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for k, v in node.value:
            name = str(k.value)
            if name in seen:
                yield (*where, name), k
            seen.add(name)
            yield from _duplicate_keys(v, (*where, name))
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            yield from _duplicate_keys(item, (*where, i))


def validate(doc: PolicyDocument, schema: dict[str, Any]) -> None:
    """Check the data against the schema; the first error (by line) becomes a PolicyError."""
    found = []
    for err in jsonschema.Draft202012Validator(schema).iter_errors(doc.data):
        path, at, key, message = _locate(err)
        found.append((doc.line_of(at, key=key), field_name(path), message))
    if not found:
        return
    found.sort()
    line, name, message = found[0]
    more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
    raise PolicyError(doc.path, line, name, message + more)


def _locate(
    err: jsonschema.ValidationError,
) -> tuple[list[PathPart], list[PathPart], bool, str]:
    """The field an error is about, the path whose line to show (a key's line when `key`),
    and a message."""
    where: list[PathPart] = list(err.absolute_path)
    if err.validator == "required" and isinstance(err.instance, dict):
        required = err.validator_value if isinstance(err.validator_value, list) else []
        missing = [str(r) for r in required if r not in err.instance] or ["?"]
        return [*where, missing[0]], where, True, "required field is missing"
    if err.validator == "additionalProperties" and isinstance(err.instance, dict):
        allowed = set(err.schema.get("properties", {})) if isinstance(err.schema, dict) else set()
        extra = sorted(str(k) for k in err.instance if k not in allowed)
        if extra:
            return [*where, extra[0]], [*where, extra[0]], True, "unknown field"
    if "propertyNames" in err.schema_path and isinstance(err.instance, str):
        name = [*where, err.instance]
        return name, name, True, f"not an allowed name: {err.message}"
    return where, where, False, err.message
