"""Marshmallow building blocks for the contract's JSON conventions (SPEC.md §7, DESIGN.md §3).

- input property names are case-insensitive (`CaseInsensitiveSchema`),
- enums are read from names (any case) or numbers and written as names (`EnumName`),
- date-times are read as ISO 8601 (no offset = UTC) and written with `+00:00` (`DateTimeOffset`),
- lists and maps are bounded, and their size is checked before any entry is read (`BoundedList`,
  `BoundedDict`, DESIGN.md §7).
"""
from __future__ import annotations

import re
from datetime import datetime, timezone
from enum import IntEnum
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, pre_load, utils, validate

from app.domain.enums import parse_enum


class CaseInsensitiveSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    @pre_load
    def _match_keys_case_insensitively(self, data: Any, **_: Any) -> Any:
        if not isinstance(data, dict):
            return data
        canonical = {
            (field.data_key or name).lower(): (field.data_key or name)
            for name, field in self.load_fields.items()
        }
        result: dict[str, Any] = {}
        for key, value in data.items():
            target = canonical.get(key.lower(), key) if isinstance(key, str) else key
            # An exact-case key wins over a differently cased duplicate.
            if target in result and key != target:
                continue
            result[target] = value
        return result


class BoundedList(fields.List):
    """A list of at most `max_items` entries (at least `min_items`), counted before any entry is
    deserialized, so a huge list costs one len(). OpenAPI shows minItems/maxItems."""

    def __init__(self, inner: fields.Field | type, *, max_items: int, max_error: str, min_items: int = 0,
                 min_error: str | None = None, **kwargs: Any) -> None:
        self.bounds = [validate.Length(max=max_items, error=max_error)]
        if min_items:
            self.bounds.insert(0, validate.Length(min=min_items, error=min_error or max_error))
        extra = kwargs.pop("validate", None)
        extra = [] if extra is None else list(extra) if isinstance(extra, (list, tuple)) else [extra]
        super().__init__(inner, validate=[*self.bounds, *extra], **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> list[Any]:
        if utils.is_collection(value):
            for bound in self.bounds:
                bound(value)
        return super()._deserialize(value, attr, data, **kwargs)


class BoundedDict(fields.Dict):
    """A map of at most `max_entries` entries, counted before any key or value is deserialized.
    OpenAPI shows maxProperties."""

    def __init__(self, *, max_entries: int, max_error: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.max_entries = max_entries
        self.max_error = max_error
        self.metadata.setdefault("maxProperties", max_entries)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> dict[Any, Any]:
        if isinstance(value, dict) and len(value) > self.max_entries:
            raise ValidationError(self.max_error)
        return super()._deserialize(value, attr, data, **kwargs)


class EnumName(fields.Field):
    """An IntEnum read from its name (case-insensitive) or number, written as its name."""

    def __init__(self, enum_cls: type[IntEnum], *, allow_undefined_number: bool = False, **kwargs: Any):
        super().__init__(**kwargs)
        self.enum_cls = enum_cls
        self.allow_undefined_number = allow_undefined_number
        self.metadata.setdefault("type", "string")
        self.metadata.setdefault("enum", [m.name for m in enum_cls])

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        try:
            return parse_enum(self.enum_cls, value, allow_undefined_number=self.allow_undefined_number)
        except ValueError as exc:
            raise ValidationError(str(exc)) from exc

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        if value is None:
            return None
        return self.enum_cls(int(value)).name


def format_datetime(value: datetime) -> str:
    """ISO 8601 with `+00:00`, fractional seconds trimmed of trailing zeros (SPEC.md §7.3)."""
    value = value.astimezone(timezone.utc)
    text = value.strftime("%Y-%m-%dT%H:%M:%S")
    if value.microsecond:
        text += "." + f"{value.microsecond:06d}".rstrip("0")
    return text + "+00:00"


def parse_datetime(value: str) -> datetime:
    parsed = datetime.fromisoformat(value.strip())
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)


MIN_YEAR, MAX_YEAR = 1900, 9000  # room for date arithmetic (expirations) without overflow


class DateTimeOffset(fields.Field):
    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        self.metadata.setdefault("type", "string")
        self.metadata.setdefault("format", "date-time")

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> datetime:
        if not isinstance(value, str):
            raise ValidationError("Not a valid datetime.")
        try:
            parsed = parse_datetime(value)
        except (ValueError, OverflowError) as exc:
            raise ValidationError("Not a valid datetime.") from exc
        if not MIN_YEAR <= parsed.year <= MAX_YEAR:
            raise ValidationError(f"The date must be between the years {MIN_YEAR} and {MAX_YEAR}.")
        return parsed

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        return None if value is None else format_datetime(value)


class WholeNumber(fields.Integer):
    """An integer: a JSON integer, or a string of ASCII digits (form fields, query strings, and
    ASP.NET's AllowReadingFromString). `1.5`, `14.0` and `true` are refused, never truncated."""

    def _validated(self, value: Any) -> int:
        if isinstance(value, float) or (isinstance(value, str) and not _INTEGER_TEXT.fullmatch(value)):
            raise self.make_error("invalid", input=value)
        return super()._validated(value)


_INTEGER_TEXT = re.compile(r"[+-]?[0-9]{1,20}")


class StrictBoolean(fields.Boolean):
    """JSON booleans only (plus the strings true/false, as form binding sends them)."""

    truthy = {True, "true", "True", "TRUE"}
    falsy = {False, "false", "False", "FALSE"}


def pascal_path(parts: list[str | int]) -> str:
    """Model key as ASP.NET reports it: `Correspondence.Content.MessageTitle`, `Recipients[0]`."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            name = part[:1].upper() + part[1:]
            out += ("." if out else "") + name
    return out or "$"


def flatten_messages(messages: Any, prefix: list[str | int] | None = None) -> dict[str, list[str]]:
    """marshmallow's nested error dict → {C#-style path: [messages]}."""
    prefix = prefix or []
    result: dict[str, list[str]] = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            if key == "_schema":
                result.setdefault(pascal_path(prefix), []).extend(_as_list(value))
                continue
            if isinstance(key, str) and key.isdigit():
                key = int(key)
            for path, msgs in flatten_messages(value, prefix + [key]).items():
                result.setdefault(path, []).extend(msgs)
    else:
        result.setdefault(pascal_path(prefix), []).extend(_as_list(messages))
    return result


def _as_list(value: Any) -> list[str]:
    if isinstance(value, list):
        out: list[str] = []
        for item in value:
            out.extend(_as_list(item))
        return out
    if isinstance(value, dict):
        return [m for msgs in flatten_messages(value).values() for m in msgs]
    return [str(value)]
