"""The status rows an Initialize writes have time-ordered ids (uuid7, as every later status row's):
random ones scattered each insert over the whole primary key (issue 29: 1,000,000 recipients)."""

from __future__ import annotations

import uuid

from tests.api.helpers import ok, org_urn, post
from tests.factories import initialize_request


def test_status_ids_of_an_initialize_follow_their_correspondences(client, sender, db):
    answer = ok(post(client, initialize_request([org_urn(i) for i in range(1, 41)]), sender))
    ids = [uuid.UUID(c["correspondenceId"]) for c in answer["correspondences"]]
    with db.transaction() as conn:
        rows = conn.execute(
            "SELECT id, correspondence_id FROM correspondence_statuses WHERE correspondence_id = ANY(%s)",
            (ids,),
        ).fetchall()
    assert len(rows) == len(ids)
    for row in rows:
        assert row["id"].version == 7 and row["id"].variant == uuid.RFC_4122
        assert row["id"].bytes[:8] == row["correspondence_id"].bytes[:8]  # its millisecond and counter
        assert row["id"] != row["correspondence_id"]
    by_status_id = [r["correspondence_id"] for r in sorted(rows, key=lambda r: r["id"])]
    assert by_status_id == sorted(ids)
