"""Marshmallow building blocks for the contract's JSON conventions (SPEC.md §7, DESIGN.md §3).

- input property names are case-insensitive (`CaseInsensitiveSchema`),
- enums are read from names (any case) or numbers and written as names (`EnumName`),
- date-times are read as ISO 8601 (no offset = UTC) and written with `+00:00` (`DateTimeOffset`),
- lists and maps are bounded, and their size is checked before any entry is read (`BoundedList`,
  `BoundedDict`, DESIGN.md §7).
"""

from __future__ import annotations

import re
from collections.abc import Sequence, Sized
from datetime import UTC, datetime
from enum import IntEnum
from typing import Any, cast

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


# What .NET's string.IsNullOrWhiteSpace calls white space. One explicit class, used both by the checks
# and in the OpenAPI patterns, so the two agree (Python's str.isspace also counts U+001C..U+001F).
WHITESPACE = "\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
NOT_BLANK_PATTERN = f"[^{WHITESPACE}]"  # JSON Schema patterns are not anchored: "has a non-space"
_NOT_BLANK = re.compile(NOT_BLANK_PATTERN)


def is_blank(value: str | None) -> bool:
    return value is None or not _NOT_BLANK.search(value)


class FullMatch(validate.Regexp):
    """validate.Regexp on the whole string (its `match` lets `$` pass a trailing newline); OpenAPI
    shows the pattern, which JSON Schema reads with `$` at the very end."""

    # For str fields only: the parent's bytes overload is left out.
    def __call__(self, value: str) -> str:  # type: ignore[override]
        if cast("re.Pattern[str]", self.regex).fullmatch(value) is None:  # compiled from a str pattern
            raise ValidationError(self._format_error(value))
        return value


class BoundedList(fields.List):
    """A list of at most `max_items` entries (at least `min_items`), counted before any entry is
    deserialized, so a huge list costs one len(). OpenAPI shows minItems/maxItems."""

    def __init__(
        self,
        inner: fields.Field | type,
        *,
        max_items: int,
        max_error: str,
        min_items: int = 0,
        min_error: str | None = None,
        null_error: str | None = None,
        **kwargs: Any,
    ) -> None:
        self.null_error = null_error  # set: a null entry is this error on the list (not on the entry)
        self.bounds = [validate.Length(max=max_items, error=max_error)]
        if min_items:
            self.bounds.insert(0, validate.Length(min=min_items, error=min_error or max_error))
        extra = kwargs.pop("validate", None)
        extra = [] if extra is None else list(extra) if isinstance(extra, (list, tuple)) else [extra]
        super().__init__(inner, validate=[*self.bounds, *extra], **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> list[Any]:
        if utils.is_collection(value):
            for bound in self.bounds:
                bound(cast(Sized, value))  # a JSON array or a form's list: sized
            if self.null_error and any(item is None for item in value):
                raise ValidationError(self.null_error)
        return super()._deserialize(value, attr, data, **kwargs)


class BoundedDict(fields.Dict):
    """A map of at most `max_entries` entries, counted before any key or value is deserialized.
    OpenAPI shows maxProperties."""

    metadata: dict[str, Any]  # a dict of its own per field (marshmallow types it as a Mapping)

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

    metadata: dict[str, Any]  # a dict of its own per field (marshmallow types it as a Mapping)

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


class EnumInput(EnumName):
    """EnumName in a request: OpenAPI shows that the numbers are read too (DESIGN.md §3), so a number
    is no schema violation. `members` narrows what is documented (and therefore expected)."""

    def __init__(self, enum_cls: type[IntEnum], *, members: Sequence[IntEnum] | None = None, **kwargs: Any):
        super().__init__(enum_cls, **kwargs)
        shown = members if members is not None else list(enum_cls)
        del self.metadata["type"], self.metadata["enum"]
        self.metadata.setdefault(
            "anyOf",
            [
                {"type": "string", "enum": [m.name for m in shown]},
                {"type": "integer", "enum": [int(m) for m in shown]},
            ],
        )


def format_datetime(value: datetime) -> str:
    """ISO 8601 with `+00:00`, fractional seconds trimmed of trailing zeros (SPEC.md §7.3)."""
    value = value.astimezone(UTC)
    text = value.strftime("%Y-%m-%dT%H:%M:%S")
    if value.microsecond:
        text += "." + f"{value.microsecond:06d}".rstrip("0")
    return text + "+00:00"


MIN_YEAR, MAX_YEAR = 1900, 9000  # room for date arithmetic (expirations) without overflow
# The year as written (before the offset is applied), as the OpenAPI pattern states it.
YEAR_PATTERN = r"^(19[0-9]{2}|[2-8][0-9]{3}|9000)-"


def parse_datetime(value: str) -> datetime:
    """ISO 8601 (RFC 3339 included, lower-case `t`/`z` too); no offset means UTC. ValueError if not
    one, or if the year as written is outside MIN_YEAR..MAX_YEAR."""
    parsed = datetime.fromisoformat(value.strip().upper())
    if not MIN_YEAR <= parsed.year <= MAX_YEAR:
        raise ValueError(f"The date must be between the years {MIN_YEAR} and {MAX_YEAR}.")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


class DateTimeOffset(fields.Field):
    metadata: dict[str, Any]  # a dict of its own per field (marshmallow types it as a Mapping)

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        self.metadata.setdefault("type", "string")
        self.metadata.setdefault("format", "date-time")
        self.metadata.setdefault("pattern", YEAR_PATTERN)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> datetime:
        if not isinstance(value, str):
            raise ValidationError("Not a valid datetime.")
        try:
            return parse_datetime(value)
        except ValueError as exc:
            message = str(exc)
            raise ValidationError(
                message if message.startswith("The date") else "Not a valid datetime."
            ) from exc

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        return None if value is None else format_datetime(value)


class WholeNumber(fields.Integer):
    """An integer: a JSON integer, or a string of ASCII digits (form fields, query strings, and
    ASP.NET's AllowReadingFromString). `1.5`, `14.0` and `true` are refused, never truncated."""

    metadata: dict[str, Any]  # a dict of its own per field (marshmallow types it as a Mapping)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.metadata.setdefault("description", "An integer; a string of its digits is read too")

    def _validated(self, value: Any) -> int:
        if isinstance(value, float) or (isinstance(value, str) and not _INTEGER_TEXT.fullmatch(value)):
            raise self.make_error("invalid", input=value)
        return super()._validated(value)


_INTEGER_TEXT = re.compile(r"[+-]?[0-9]{1,20}")


class StrictBoolean(fields.Boolean):
    """JSON booleans only (plus the strings true/false, as form binding sends them)."""

    # RUF012: marshmallow's Boolean declares its defaults the same way, as class attributes it only reads
    truthy = {True, "true", "True", "TRUE"}  # noqa: RUF012
    falsy = {False, "false", "False", "FALSE"}  # noqa: RUF012


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
            for path, msgs in flatten_messages(value, [*prefix, key]).items():
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
