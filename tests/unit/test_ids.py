"""UUIDv7 ids (RFC 9562 §5.7, monotonic by §6.2 method 1: a 12-bit counter in rand_a)."""

from __future__ import annotations

import uuid

import pytest

from app.domain import ids
from app.domain.ids import uuid7

MS = 1_893_456_000_123  # 2030-01-01T00:00:00.123Z


@pytest.fixture()
def clock(monkeypatch: pytest.MonkeyPatch):
    """A fresh generator state, a settable clock, and fixed random bytes (counter start 0x05)."""
    now = {"ms": MS}
    monkeypatch.setattr(ids, "_last_ms", 0)
    monkeypatch.setattr(ids, "_counter", 0)
    monkeypatch.setattr(ids.time, "time_ns", lambda: now["ms"] * 1_000_000 + 999_999)
    monkeypatch.setattr(ids.os, "urandom", lambda n: bytes([5]) if n == 1 else b"\xff" * n)
    return now


def fields(u: uuid.UUID) -> tuple[int, int, int, int, int]:
    """(unix_ts_ms, ver, rand_a, var, rand_b) as laid out in RFC 9562 §5.7."""
    n = u.int
    return n >> 80, (n >> 76) & 0xF, (n >> 64) & 0xFFF, (n >> 62) & 0b11, n & ((1 << 62) - 1)


def test_uuid7_is_version_7_and_monotonic_within_a_process() -> None:
    made = [uuid7() for _ in range(10000)]
    assert all(i.version == 7 and i.variant == uuid.RFC_4122 for i in made)
    assert made == sorted(made)
    assert len(set(made)) == len(made)


def test_layout_timestamp_version_counter_variant_random(clock) -> None:
    assert fields(uuid7()) == (MS, 7, 5, 0b10, (1 << 62) - 1)


def test_random_bits_come_from_urandom(clock, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ids.os, "urandom", lambda n: bytes([0x80]) if n == 1 else bytes(range(1, n + 1)))
    assert fields(uuid7()) == (MS, 7, 0x80, 0b10, 0x0102030405060708 & ((1 << 62) - 1))


def test_same_millisecond_counts_up(clock) -> None:
    first, second, third = uuid7(), uuid7(), uuid7()
    assert [fields(u)[:3] for u in (first, second, third)] == [(MS, 7, 5), (MS, 7, 6), (MS, 7, 7)]


def test_new_millisecond_restarts_the_counter_at_random(clock) -> None:
    uuid7(), uuid7()
    clock["ms"] = MS + 1
    assert fields(uuid7())[:3] == (MS + 1, 7, 5)


def test_clock_going_back_keeps_the_last_millisecond_and_counts_on(clock) -> None:
    uuid7()
    clock["ms"] = MS - 10
    assert fields(uuid7())[:3] == (MS, 7, 6)


def test_counter_overflow_borrows_the_next_millisecond(clock, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ids.os, "urandom", lambda n: b"\xff" * n)  # counter starts at 0xFF
    made = [uuid7() for _ in range(0xFFF - 0xFF + 1)]
    assert fields(made[-1])[:3] == (MS, 7, 0xFFF)
    after = uuid7()
    assert fields(after)[:3] == (MS + 1, 7, 0)
    assert fields(uuid7())[:3] == (MS + 1, 7, 1)
    assert [*made, after] == sorted([*made, after])


def test_timestamp_keeps_48_bits(clock) -> None:
    clock["ms"] = (1 << 48) + MS
    assert fields(uuid7())[:2] == (MS, 7)


def test_a_batch_counts_up_within_one_millisecond(clock, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ids.os, "urandom", lambda n: bytes([5]) if n == 1 else bytes(range(n)))
    made = ids.uuid7s(3)
    assert [fields(u)[:4] for u in made] == [(MS, 7, 5, 0b10), (MS, 7, 6, 0b10), (MS, 7, 7, 0b10)]
    # each id takes its own 8 random bytes (62 bits of them)
    assert [fields(u)[4] for u in made] == [
        int.from_bytes(bytes(range(8 * i, 8 * i + 8)), "big") & ((1 << 62) - 1) for i in range(3)
    ]
    assert fields(uuid7())[:3] == (MS, 7, 8)  # single ids go on from the batch


def test_a_batch_past_the_counter_borrows_the_next_millisecond(
    clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ids.os, "urandom", lambda n: b"\xff" * n)  # counter starts at 0xFF
    made = ids.uuid7s(0xFFF - 0xFF + 2)
    assert fields(made[-2])[:3] == (MS, 7, 0xFFF)
    assert fields(made[-1])[:3] == (MS + 1, 7, 0)
    assert made == sorted(made)
