"""Reading a JSON request body into a schema, with contract-shaped errors (415, 413, validation problem).

Nothing here recurses over request data: the depth limit is checked on the bytes before parsing,
and the text check is one json.dumps of a value already known to be shallow (DESIGN.md §7).
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Iterator
from typing import Any

from flask import g, request
from marshmallow import Schema, ValidationError
from werkzeug.exceptions import RequestEntityTooLarge, UnsupportedMediaType

from app.domain.errors import ValidationProblem
from app.domain.limits import MAX_JSON_DEPTH
from app.schemas.compiled import compiled, load_fast
from app.schemas.fields import flatten_messages

DEPTH_MESSAGE = f"The JSON value is nested more than {MAX_JSON_DEPTH} levels deep."
TEXT_MESSAGE = "Text may not contain the NUL character (U+0000) or unpaired surrogates."
_SHOWN_KEY_LENGTH = 64  # keys echoed in error paths are cut to this length
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_SAME_BRACKETS = bytes.maketrans(b"{}", b"[]")
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_NUL_ESCAPE = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")  # \u0000 after an even number of backslashes


def read_json() -> Any:
    mimetype = request.mimetype or ""
    if not (mimetype == "application/json" or mimetype.endswith("+json")):
        raise UnsupportedMediaType("The request body must be application/json.")
    raw = _body()
    if _too_deep(raw):
        raise ValidationProblem.single("$", DEPTH_MESSAGE)
    try:
        text = raw.decode("utf-8-sig")  # strict: no surrogates smuggled in as bytes (RFC 8259: UTF-8)
        data = json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)
    except RecursionError as exc:  # unbalanced brackets, deeper than the interpreter allows
        raise ValidationProblem.single("$", DEPTH_MESSAGE) from exc
    except ValueError as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise ValidationProblem.single("$", f"The JSON value could not be parsed: {exc}") from exc
    if "\\u" not in text:  # NUL and lone surrogates can only come from \u escapes now
        g.inspected_json = data  # load() need not look at it again
    return data


def _body() -> bytes:
    """The whole body, or 413. werkzeug stops reading a chunked body (no Content-Length) at the limit
    and returns what it read, which must not pass for a short, unparsable body: a chunked body that
    fills the limit is refused (one of exactly the limit is refused too; it cannot be told apart)."""
    data = request.get_data(cache=True)
    limit = request.max_content_length
    if request.content_length is None and limit is not None and len(data) >= limit:
        raise RequestEntityTooLarge()
    return data


def _too_deep(raw: bytes) -> bool:
    """Whether the JSON text nests containers deeper than MAX_JSON_DEPTH, from its bytes, before
    parsing: strings removed, then each pass deletes the innermost empty pairs (one level)."""
    if raw.count(b"[") + raw.count(b"{") <= MAX_JSON_DEPTH:
        return False
    brackets = _STRING.sub(b"", raw).translate(_SAME_BRACKETS, _NOT_BRACKETS)
    for _ in range(MAX_JSON_DEPTH):
        shorter = brackets.replace(b"[]", b"")
        if not shorter or len(shorter) == len(brackets):
            return False  # all levels gone; or unbalanced, which the parser reports
        brackets = shorter
    return True


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"the number {text[:32]} is out of range")
    return value


def _check_text(data: Any, nul_allowed: frozenset[str] = frozenset()) -> None:
    """400 when a string (key or value) holds NUL or a lone surrogate, which PostgreSQL text cannot
    store; a NUL in the string value of a key named in `nul_allowed` (lower case) is left for a later
    rule to report. One C-speed pass (json.dumps escapes NUL as \\u0000 and every backslash as \\\\,
    and keeps lone surrogates, which then do not encode); the walk only runs to name the path."""
    text = json.dumps(data, ensure_ascii=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        pass
    else:
        if not _NUL_ESCAPE.search(text):
            return
    where = _unstorable_path(data, nul_allowed)
    if where is not None:
        raise ValidationProblem.single(where, TEXT_MESSAGE)


def _unstorable_path(data: Any, nul_allowed: frozenset[str] = frozenset()) -> str | None:
    """Path of the first string that cannot be stored (None: only NULs where they are allowed).
    Iterative: a stack of iterators, no recursion."""
    keys: list[Any] = []
    stack = [_entries(data)]
    while stack:
        for key, item in stack[-1]:
            if isinstance(key, str) and not _storable(key):
                return _path(keys)
            exempt = isinstance(key, str) and key.lower() in nul_allowed
            if isinstance(item, str) and not _storable(item.replace("\x00", "") if exempt else item):
                return _path([*keys, key])
            if isinstance(item, (dict, list)):
                keys.append(key)
                stack.append(_entries(item))
                break
        else:
            stack.pop()
            if keys:
                keys.pop()
    return None


def _entries(value: Any) -> Iterator[tuple[Any, Any]]:
    return iter(value.items()) if isinstance(value, dict) else enumerate(value)


def _storable(text: str) -> bool:
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _path(keys: list[Any]) -> str:
    path = "$"
    for key in keys:
        path += f"[{key}]" if isinstance(key, int) else f".{str(key)[:_SHOWN_KEY_LENGTH]}"
    return path


@functools.cache  # schemas hash by identity; the ones loaded here live as long as the process
def _fast_loader(schema: Schema) -> Any:
    """The compiled fast path of `schema` (app/schemas/compiled.py), built on first use."""
    return compiled(schema)


def load(schema: Schema, data: Any, *, nul_reported_in: frozenset[str] = frozenset()) -> dict[str, Any]:
    """Validate `data` with `schema`. Text with NUL is a validation problem, except in the string values
    of the keys in `nul_reported_in` (lower case), whose own rule reports it before anything is stored."""
    if not isinstance(data, dict):
        raise ValidationProblem.single("$", "The request body must be a JSON object.")
    if g.get("inspected_json") is not data:
        _check_text(data, nul_reported_in)  # escapes in JSON, form fields, query strings
    try:
        return load_fast(_fast_loader(schema), schema, data)
    except ValidationError as exc:
        raise ValidationProblem(flatten_messages(exc.messages)) from exc
