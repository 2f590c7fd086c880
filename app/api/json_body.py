"""Reading a JSON request body into a schema, with contract-shaped errors (415, validation problem)."""
from __future__ import annotations

import json
from typing import Any

from flask import request
from marshmallow import Schema, ValidationError
from werkzeug.exceptions import UnsupportedMediaType

from app.domain.errors import ValidationProblem
from app.schemas.fields import flatten_messages


def read_json() -> Any:
    mimetype = request.mimetype or ""
    if not (mimetype == "application/json" or mimetype.endswith("+json")):
        raise UnsupportedMediaType("The request body must be application/json.")
    raw = request.get_data(cache=True)
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise ValidationProblem.single("$", f"The JSON value could not be parsed: {exc}") from exc


def _nul_path(value: Any, path: str = "$", nul_allowed: frozenset[str] = frozenset(),
              allow_nul: bool = False) -> str | None:
    """Where a NUL character hides in the JSON (PostgreSQL text cannot store it); a NUL in the value
    of a key named in `nul_allowed` (lower case) is left for a later rule to report."""
    if isinstance(value, str):
        if "\x00" in value and not allow_nul:
            return path
        try:
            value.encode("utf-8")  # lone surrogates ("\ud800") cannot be stored
        except UnicodeEncodeError:
            return path
        return None
    if isinstance(value, dict):
        for key, item in value.items():
            exempt = isinstance(key, str) and key.lower() in nul_allowed
            found = _nul_path(key, path) or _nul_path(item, f"{path}.{key}", nul_allowed, exempt)
            if found:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = _nul_path(item, f"{path}[{index}]", nul_allowed)
            if found:
                return found
    return None


def load(schema: Schema, data: Any, *, nul_reported_in: frozenset[str] = frozenset()) -> dict[str, Any]:
    """Validate `data` with `schema`. Text with NUL is a validation problem, except in the string values
    of the keys in `nul_reported_in` (lower case), whose own rule reports it before anything is stored."""
    if not isinstance(data, dict):
        raise ValidationProblem.single("$", "The request body must be a JSON object.")
    where = _nul_path(data, nul_allowed=nul_reported_in)
    if where:
        raise ValidationProblem.single(where, "Text may not contain the NUL character (U+0000) or unpaired "
                                              "surrogates.")
    try:
        return schema.load(data)
    except ValidationError as exc:
        raise ValidationProblem(flatten_messages(exc.messages)) from exc
