from app.domain.ids import uuid7


def test_uuid7_is_version_7_and_monotonic_within_a_process():
    ids = [uuid7() for _ in range(10000)]
    assert all(i.version == 7 for i in ids)
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)
