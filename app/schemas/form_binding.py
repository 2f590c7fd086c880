"""multipart/form-data fields → the nested dict a JSON body would give (SPEC.md §3.3). Pure.

Replicates the ASP.NET form model binding the original `/correspondence/upload` relies on:

* names are case-insensitive dotted paths with `[i]` list indexes: `correspondence.content.attachments[0].fileName`;
* an optional `request.` prefix (the action parameter's name): when any field carries it, only such
  fields are bound, as ASP.NET binds a prefixed model exclusively;
* lists of values bind from `recipients[0]`, `recipients[1]`, … (zero-based, stopping at the first
  gap) or from the same name repeated (`recipients=a&recipients=b`, which wins when both appear);
* dictionaries bind from `propertyList.<key>` or `propertyList[<key>]`; keys keep their case;
* an empty value is null (ASP.NET's ConvertEmptyStringToNull), except for dictionary values;
* a scalar given twice keeps its first value; names that match nothing in the model are ignored.

Binding is linear in the number of fields (one dictionary/set lookup per path segment); the field
count and sizes are bounded before binding (`app/api/multipart.py`).

The model's shape (objects, lists, dictionaries) is read from the marshmallow schema, and property
names come out spelled as the schema's `data_key`s.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from marshmallow import Schema, fields

SCALAR, BOOLEAN, OBJECT, LIST, DICT = "scalar", "boolean", "object", "list", "dict"
PREFIX = "request"
_SEGMENT = re.compile(r"\.?([^.\[\]]+)|\[([^\]]*)\]")
_INDEX = re.compile(r"^(0|[1-9][0-9]{0,5})$")


@dataclass(frozen=True)
class Shape:
    kind: str
    properties: dict[str, tuple[str, Shape]] = field(default_factory=dict)  # lower name → (data_key, shape)
    item: Shape | None = None


def shape_of_schema(schema: Schema) -> Shape:
    properties = {}
    for name, f in schema.load_fields.items():
        key = f.data_key or name
        properties[key.lower()] = (key, _shape_of_field(f))
    return Shape(OBJECT, properties)


def _shape_of_field(f: fields.Field) -> Shape:
    if isinstance(f, fields.Nested):
        return shape_of_schema(f.schema)
    if isinstance(f, fields.List):
        return Shape(LIST, item=_shape_of_field(f.inner))
    if isinstance(f, fields.Dict):
        return Shape(DICT)
    if isinstance(f, fields.Boolean):
        return Shape(BOOLEAN)
    return Shape(SCALAR)


def parse_name(name: str) -> list[tuple[str, str]] | None:
    """`a.b[0].c` → [("name","a"), ("name","b"), ("index","0"), ("name","c")]; None if malformed."""
    if not isinstance(name, str):
        return None
    segments: list[tuple[str, str]] = []
    position = 0
    while position < len(name):
        match = _SEGMENT.match(name, position)
        if match is None or match.end() == position:
            return None
        if match.group(1) is not None:
            if position > 0 and name[position] != ".":
                return None  # `a[0]b`
            if position == 0 and name[0] == ".":
                return None
            segments.append(("name", match.group(1)))
        else:
            if position == 0:
                return None  # `[0]` with no property before it
            segments.append(("index", match.group(2)))
        position = match.end()
    return segments or None


class _Node:
    """A value being built: an object (dict), list (indexed + repeated values) or dictionary."""

    def __init__(self, shape: Shape) -> None:
        self.shape = shape
        self.children: dict[str, Any] = {}  # object/dict entries, list indexes
        self.repeated: list[Any] = []  # list values given without an index
        self.folded_keys: set[str] = set()  # dictionary keys, case-folded: one set lookup per field


def bind_form(items: Iterable[tuple[str, str]], shape: Shape) -> dict[str, Any]:
    """Bind (field name, value) pairs, in request order, to a dict shaped like the JSON body."""
    named = [(parse_name(name), value) for name, value in items]
    parsed = [(segments, value) for segments, value in named if segments]
    prefixed = [
        (segments[1:], value)
        for segments, value in parsed
        if len(segments) > 1
        and segments[0][0] == "name"
        and segments[0][1].lower() == PREFIX
        and segments[1][0] == "name"
        and PREFIX not in shape.properties
    ]
    root = _Node(shape)
    for segments, value in prefixed or parsed:
        _put(root, segments, value)
    result = _finish(root)
    return result if isinstance(result, dict) else {}


def _put(node: _Node, segments: list[tuple[str, str]], value: str) -> None:
    kind = node.shape.kind
    if not segments:
        if kind == LIST and node.shape.item is not None and node.shape.item.kind in (SCALAR, BOOLEAN):
            node.repeated.append(_scalar(node.shape.item, value))
        return  # a value where an object or dictionary is expected: ignored
    (token, text), rest = segments[0], segments[1:]
    if kind == OBJECT:
        if token != "name" or text.lower() not in node.shape.properties:
            return
        key, child_shape = node.shape.properties[text.lower()]
        if child_shape.kind in (SCALAR, BOOLEAN):
            if not rest and key not in node.children:
                node.children[key] = _scalar(child_shape, value)
            return
        child = node.children.setdefault(key, _Node(child_shape))
        _put(child, rest, value)
    elif kind == LIST:
        item = node.shape.item
        if token != "index" or not _INDEX.match(text) or item is None:
            return
        if item.kind in (SCALAR, BOOLEAN):
            if not rest and text not in node.children:
                node.children[text] = _scalar(item, value)
            return
        _put(node.children.setdefault(text, _Node(item)), rest, value)
    # Form keys are case-insensitive: `propertyList.Key` and `propertyList.key` are one key.
    elif kind == DICT and not rest and text and text.lower() not in node.folded_keys:
        node.folded_keys.add(text.lower())
        node.children[text] = value


def _scalar(shape: Shape, value: str) -> str | None:
    if value == "":
        return None
    if shape.kind == BOOLEAN and value.strip().lower() in ("true", "false"):
        return value.strip().lower()
    return value


def _finish(node: _Node) -> Any:
    if node.shape.kind == OBJECT or node.shape.kind == DICT:
        return {k: _finish(v) if isinstance(v, _Node) else v for k, v in node.children.items()}
    if node.repeated:
        return list(node.repeated)
    values = []
    index = 0
    while str(index) in node.children:
        child = node.children[str(index)]
        values.append(_finish(child) if isinstance(child, _Node) else child)
        index += 1
    return values
