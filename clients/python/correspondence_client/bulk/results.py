"""The result CSV: one line per row of the recipients file, written from the journal (so a crashed
run loses nothing: the next run writes it again), to a temporary name and then renamed.

Columns: line, recipient (as written), urn, outcome (sent | failed | unknown | not sent | invalid),
correspondence_id, status (at Initialize), error, notifications (with --wait: the orders' statuses),
delivered, failed (with --wait, where the service follows delivery: the main notification's addresses
delivered and failed).
"""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Any

from correspondence_client.bulk.journal import ATTEMPTED, DONE, FAILED, UNKNOWN, Journal
from correspondence_client.bulk.plan import Checked

COLUMNS = [
    "line",
    "recipient",
    "urn",
    "outcome",
    "correspondence_id",
    "status",
    "error",
    "notifications",
    "delivered",
    "failed",
]


def describe_orders(entry: Any) -> str:
    """`[[0, "Success"], [1, "Success"]]` → `Success; reminder: Success`; "Reserved" → "none (Reserved)"."""
    if isinstance(entry, str):
        return f"none ({entry})"
    if not entry:
        return ""
    return "; ".join(("reminder: " if o[0] else "") + str(o[1]) for o in entry)


def delivery_counts(entry: Any) -> tuple[str, str]:
    """The main notification's addresses delivered and failed ("" when not known)."""
    if not entry or isinstance(entry, str) or not all(len(o) >= 4 for o in entry):
        return "", ""
    main = [o for o in entry if not o[0]]
    return str(sum(o[2] for o in main)), str(sum(o[3] for o in main))


def write_results(checked: Checked, journal: Journal, path: Path, chunk_size: int) -> None:
    temporary = path.with_name(path.name + ".tmp")
    with open(temporary, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        valid = 0
        current, results, orders, state = -1, None, None, None
        for row in checked.all_rows():
            if row.urn is None:
                writer.writerow([row.line, row.raw, "", "invalid", "", "", row.error, "", "", ""])
                continue
            index, position = divmod(valid, chunk_size)
            valid += 1
            if index != current:
                current, state = index, journal.state(index)
                record = journal.read_at(state.result_offset) if state.state in (DONE, FAILED) else None
                results = (record or {}).get("results")
                orders = (journal.read_at(state.orders_offset) or {}).get("orders")
            assert state is not None
            if state.state == DONE and results and position < len(results):
                urn, correspondence_id, status = results[position]
                entry = orders[position] if orders and position < len(orders) else None
                delivered, failed = delivery_counts(entry)
                notified = describe_orders(entry)
                writer.writerow(
                    [
                        row.line,
                        row.raw,
                        urn,
                        "sent",
                        correspondence_id,
                        status,
                        "",
                        notified,
                        delivered,
                        failed,
                    ]
                )
            elif state.state == FAILED:
                writer.writerow([row.line, row.raw, row.urn, "failed", "", "", state.error or "", "", "", ""])
            elif state.state in (ATTEMPTED, UNKNOWN):
                writer.writerow(
                    [
                        row.line,
                        row.raw,
                        row.urn,
                        "unknown",
                        "",
                        "",
                        state.error or "interrupted: checked before sending again on the next run",
                        "",
                        "",
                        "",
                    ]
                )
            else:
                writer.writerow([row.line, row.raw, row.urn, "not sent", "", "", "", "", "", ""])
    os.replace(temporary, path)
