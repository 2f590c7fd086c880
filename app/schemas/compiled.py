"""A fast path for loading valid requests: a marshmallow schema compiled into plain functions.

Marshmallow spends most of a small request's load in its machinery (error stores, per-field getter
closures, processor look-ups), not in the checks. `compiled(schema)` walks the schema once and
returns a loader that does the same work directly: the case-insensitive key matching of
`CaseInsensitiveSchema`, each field's missing/None rules and its own `deserialize` (plain strings
inlined), nested schemas and lists, then the schema's `@validates` and `@validates_schema` hooks.

It only ever answers for input marshmallow accepts: on the first problem of any kind it gives up
(returns None) and the caller loads with marshmallow, which produces the error exactly as before.
A schema with anything the compiler does not know (other hooks, `many`, `only`, INCLUDE/RAISE)
is not compiled at all. With `SCHEMA_FAST_PATH_CHECK=1` (the tests set it) every fast load is
compared with marshmallow's, so the whole suite holds the two to the same answers.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, missing
from marshmallow.decorators import POST_DUMP, POST_LOAD, PRE_DUMP, PRE_LOAD, VALIDATES, VALIDATES_SCHEMA

from app.schemas.fields import BoundedList, CaseInsensitiveSchema

Loader = Callable[[Any], Any]
CHECK = os.environ.get("SCHEMA_FAST_PATH_CHECK") == "1"


class _GiveUp(Exception):
    """The fast path does not vouch for this input: marshmallow decides."""


class NotCompilable(Exception):
    """The schema uses something the fast path does not reproduce."""


def compiled(schema: Schema) -> Callable[[dict[str, Any]], dict[str, Any] | None]:
    """A loader for `schema` that returns its load result, or None to leave the input to marshmallow.
    A schema that cannot be compiled gets a loader that always returns None."""
    try:
        load = _schema_loader(schema)
    except NotCompilable:
        return lambda data: None

    def fast_load(data: dict[str, Any]) -> dict[str, Any] | None:
        try:
            return load(data)
        except Exception:  # noqa: BLE001 - any surprise: marshmallow decides, and reports it
            return None

    return fast_load


def _schema_loader(schema: Schema) -> Loader:
    hooks = schema._hooks  # marshmallow's own registry of decorated methods (pinned: marshmallow 4)
    pre_load = [name for name, _, _ in hooks[PRE_LOAD]]
    if pre_load not in ([], ["_match_keys_case_insensitively"]) or hooks[POST_LOAD]:
        raise NotCompilable(f"{type(schema).__name__}: load processors {pre_load}")
    if hooks[PRE_DUMP] or hooks[POST_DUMP]:
        pass  # dumping is not our business
    if schema.many or schema.only or schema.exclude or schema.unknown != EXCLUDE or schema.partial:
        raise NotCompilable(f"{type(schema).__name__}: options")
    case_insensitive = isinstance(schema, CaseInsensitiveSchema)
    plan = []
    canonical: dict[str, str] = {}
    for name, field in schema.load_fields.items():
        key = field.data_key if field.data_key is not None else name
        canonical[key.lower()] = key
        plan.append((key, field.attribute or name, name, field, _field_loader(field, name)))

    field_validators = []
    for attr_name, _, kwargs in hooks[VALIDATES]:
        for field_name in kwargs["field_names"]:
            declared = schema.fields[field_name]
            data_key = declared.data_key if declared.data_key is not None else field_name
            field_validators.append((getattr(schema, attr_name), declared.attribute or field_name, data_key))
    schema_validators = []
    for attr_name, hook_many, kwargs in hooks[VALIDATES_SCHEMA]:
        if hook_many or kwargs.get("pass_original"):
            raise NotCompilable(f"{type(schema).__name__}.{attr_name}")
        schema_validators.append(getattr(schema, attr_name))
    unknown = schema.unknown

    def load(data: Any) -> dict[str, Any]:
        if type(data) is not dict:
            raise _GiveUp
        if case_insensitive:  # as CaseInsensitiveSchema._match_keys_case_insensitively does
            matched: dict[str, Any] = {}
            for given, value in data.items():
                target = canonical.get(given.lower())
                if target is None:
                    target = given
                if target in matched and given != target:
                    continue
                matched[target] = value
            data = matched
        out: dict[str, Any] = {}
        for key, attribute, name, field, load_field in plan:
            value = data.get(key, missing)
            if value is missing:
                if field.required:
                    raise _GiveUp
                default = field.load_default
                if default is missing:
                    continue
                out[attribute] = default() if callable(default) else default
            elif value is None:
                if not field.allow_none:
                    raise _GiveUp
                out[attribute] = None
            else:
                out[attribute] = load_field(value, name, data)
        for validator, attribute, data_key in field_validators:
            if attribute in out and validator(out[attribute], data_key=data_key) is missing:
                raise _GiveUp  # a validator that drops the value: leave it to marshmallow
        for validator in schema_validators:
            validator(out, partial=None, many=False, unknown=unknown)
        return out

    return load


def _field_loader(field: fields.Field, name: str) -> Callable[[Any, str, dict[str, Any]], Any]:
    """Loads a present, non-None value of `field` (or raises)."""
    validators = list(field.validators)
    if type(field) is fields.String:

        def load_string(value: Any, attr: str, data: dict[str, Any]) -> Any:
            if type(value) is not str:
                raise _GiveUp
            for validator in validators:
                validator(value)
            return value

        return load_string
    if type(field) is fields.Nested and not (field.many or field.only or field.exclude):
        nested = field.schema
        load_nested = _schema_loader(nested)

        def load_object(value: Any, attr: str, data: dict[str, Any]) -> Any:
            result = load_nested(value)
            for validator in validators:
                validator(result)
            return result

        return load_object
    if isinstance(field, fields.List) and type(field) in (fields.List, BoundedList):
        inner = field.inner
        load_inner = _field_loader(inner, name)
        bounds = list(getattr(field, "bounds", ()))
        null_error = getattr(field, "null_error", None)

        def load_list(value: Any, attr: str, data: dict[str, Any]) -> Any:
            if type(value) is not list:
                raise _GiveUp
            for bound in bounds:
                bound(value)
            result: list[Any] = []
            for item in value:
                if item is None:
                    if null_error or not inner.allow_none:
                        raise _GiveUp
                    result.append(None)
                else:
                    result.append(load_inner(item, attr, data))
            for validator in validators:
                validator(result)
            return result

        return load_list

    if type(field).deserialize is fields.Field.deserialize and not (
        getattr(field, "pre_load", None) or getattr(field, "post_load", None)
    ):
        # What Field.deserialize does once missing and None are handled (above): the field's own
        # conversion, then its validators, without the wrapper (booleans, dates, enums, maps).
        convert = field._deserialize

        def load_converted(value: Any, attr: str, data: dict[str, Any]) -> Any:
            result = convert(value, attr, data)
            for validator in validators:
                validator(result)
            return result

        return load_converted

    def load_with_field(value: Any, attr: str, data: dict[str, Any]) -> Any:
        result = field.deserialize(value, attr, data)
        if result is missing:
            raise _GiveUp
        return result

    return load_with_field


def load_fast(
    fast_load: Callable[[dict[str, Any]], dict[str, Any] | None], schema: Schema, data: dict[str, Any]
) -> dict[str, Any]:
    """The fast path's result, else marshmallow's (which raises ValidationError for bad input)."""
    result = fast_load(data)
    if result is None:
        return schema.load(data)
    if CHECK:
        expected = schema.load(data)
        if _ordered(result) != _ordered(expected):
            raise AssertionError(f"schema fast path differs from marshmallow:\n{result!r}\n{expected!r}")
    return result


def _ordered(value: Any) -> Any:
    """A comparable form that also sees key order (the property list keeps it)."""
    if isinstance(value, dict):
        return [(k, _ordered(v)) for k, v in value.items()]
    if isinstance(value, list):
        return [_ordered(v) for v in value]
    return (type(value).__name__, value)


__all__ = ["NotCompilable", "ValidationError", "compiled", "load_fast"]
