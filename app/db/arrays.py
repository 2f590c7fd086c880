"""One-dimensional PostgreSQL arrays in binary, built in one pass.

psycopg's generic list dumper looks at every element in Python (type, dumper, size): ~1 µs per
element, and an Initialize of 500 recipients sends ~5,000 elements (ids, recipients, names,
statuses). These dumpers write the wire format (`array_send`: dimensions, flags, element type, then
each element's length and bytes) with one join. Wrap a list in `UuidArray`, `TextArray` or
`SmallintArray` and pass it to a `%b` placeholder; psycopg finds the dumper by the wrapper's type.
"""

from __future__ import annotations

import struct
import uuid
from collections.abc import Iterable

import psycopg
from psycopg.adapt import Dumper
from psycopg.pq import Format

# Element and array type oids (pg_type).
UUID_OID, UUID_ARRAY_OID = 2950, 2951
TEXT_OID, TEXT_ARRAY_OID = 25, 1009
INT2_OID, INT2_ARRAY_OID = 21, 1005

_EMPTY = struct.Struct("!iiI")  # ndim 0, no nulls, element oid
_HEAD = struct.Struct("!iiIii")  # ndim 1, has-null flag, element oid, length, lower bound 1
_LENGTH = struct.Struct("!i")
_NULL = _LENGTH.pack(-1)
_UUID_LENGTH = _LENGTH.pack(16)
_INT2 = struct.Struct("!ih")  # length 2, value


class UuidArray(list[uuid.UUID]):
    """A uuid[] parameter (no NULL elements). Its wire bytes are built once: a statement may pass the
    same array for several placeholders (an Initialize's ids, status owners and outbox rows are
    usually one list), and psycopg dumps each placeholder. Do not change the list after its first dump."""

    _wire: bytes | None = None


class TextArray(list[str | None]):
    """A text[] parameter; None elements are NULL."""


class SmallintArray(list[int]):
    """A smallint[] parameter (no NULL elements)."""


def _array(element_oid: int, has_null: bool, n: int, elements: Iterable[bytes]) -> bytes:
    if not n:
        return _EMPTY.pack(0, 0, element_oid)
    return b"".join([_HEAD.pack(1, int(has_null), element_oid, n, 1), *elements])


class UuidArrayDumper(Dumper):
    format = Format.BINARY
    oid = UUID_ARRAY_OID

    def dump(self, obj: UuidArray) -> bytes:
        if obj._wire is None:
            obj._wire = _array(UUID_OID, False, len(obj), [_UUID_LENGTH + value.bytes for value in obj])
        return obj._wire


class TextArrayDumper(Dumper):
    format = Format.BINARY
    oid = TEXT_ARRAY_OID

    def dump(self, obj: TextArray) -> bytes:
        parts: list[bytes] = []
        has_null = False
        for value in obj:
            if value is None:
                has_null = True
                parts.append(_NULL)
            else:
                data = value.encode()
                parts.append(_LENGTH.pack(len(data)) + data)
        return _array(TEXT_OID, has_null, len(obj), parts)


class SmallintArrayDumper(Dumper):
    format = Format.BINARY
    oid = INT2_ARRAY_OID

    def dump(self, obj: SmallintArray) -> bytes:
        return _array(INT2_OID, False, len(obj), [_INT2.pack(2, value) for value in obj])


def register(adapters: psycopg.adapt.AdaptersMap = psycopg.adapters) -> None:
    adapters.register_dumper(UuidArray, UuidArrayDumper)
    adapters.register_dumper(TextArray, TextArrayDumper)
    adapters.register_dumper(SmallintArray, SmallintArrayDumper)


register()  # the global map: every connection made after this import
