"""The one-pass binary array dumpers (app/db/arrays.py) against PostgreSQL itself: what the server
reads back is what was sent, for every element psycopg's generic dumper would send."""

from __future__ import annotations

import uuid

import psycopg
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.db.arrays import SmallintArray, TextArray, UuidArray

# PostgreSQL text cannot hold NUL; anything else Unicode can.
TEXT = st.text(st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)), max_size=40)


@pytest.fixture(scope="module")
def conn(database_url: str):
    with psycopg.connect(database_url, autocommit=True) as connection:
        yield connection


def read_back(conn, sql: str, value):
    return conn.execute(sql, (value,)).fetchone()[0]


@settings(max_examples=60, deadline=None)
@given(values=st.lists(st.one_of(st.none(), TEXT), max_size=30))
def test_text_arrays_read_back_as_sent(conn, values):
    assert read_back(conn, "SELECT %b::text[]", TextArray(values)) == values


@settings(max_examples=30, deadline=None)
@given(values=st.lists(st.uuids(), max_size=30))
def test_uuid_arrays_read_back_as_sent(conn, values):
    assert read_back(conn, "SELECT %b::uuid[]", UuidArray(values)) == values


@settings(max_examples=30, deadline=None)
@given(values=st.lists(st.integers(-32768, 32767), max_size=30))
def test_smallint_arrays_read_back_as_sent(conn, values):
    assert read_back(conn, "SELECT %b::smallint[]", SmallintArray(values)) == values


def test_they_unnest_like_the_generic_ones(conn):
    ids = [uuid.uuid4() for _ in range(500)]
    names = [None if i % 7 == 0 else f"navn {i} ÆØÅ \"'{{}},\\" for i in range(500)]
    ours = conn.execute(
        "SELECT t.id, t.name, t.n FROM unnest(%b::uuid[], %b::text[], %b::smallint[]) AS t(id, name, n)",
        (UuidArray(ids), TextArray(names), SmallintArray(range(500))),
    ).fetchall()
    generic = conn.execute(
        "SELECT t.id, t.name, t.n FROM unnest(%b::uuid[], %b::text[], %b::smallint[]) AS t(id, name, n)",
        (ids, names, list(range(500))),
    ).fetchall()
    assert ours == generic and len(ours) == 500


def test_empty_arrays_are_empty(conn):
    assert read_back(conn, "SELECT cardinality(%b::uuid[])", UuidArray()) == 0
    assert read_back(conn, "SELECT %b::text[]", TextArray()) == []


def test_one_uuid_array_passed_for_several_placeholders_is_sent_to_each(conn):
    ids = UuidArray([uuid.uuid4() for _ in range(3)])
    assert conn.execute("SELECT %b::uuid[], %b::uuid[]", (ids, ids)).fetchone() == (ids, ids)
