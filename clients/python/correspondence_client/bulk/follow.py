"""`--wait`: follow the notification orders of every sent correspondence to their final status, and,
where the service follows their delivery (the smtp and altinn gateways), the main notification's
addresses until each is delivered or failed (a reminder's addresses only go out days later: their
counts are what is known when the main notification is final).

The service records a correspondence's orders all at once (main, and reminder with `sendReminder`),
each `Success`, `MissingContact` or `Failure`; a `Reserved` correspondence gets none. Details are
polled chunk by chunk (at most `concurrency` at a time), so memory stays bounded; a chunk whose
correspondences are all final is written to the journal and never polled again, also by a later run.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from correspondence_client.bulk.journal import DONE, Journal
from correspondence_client.client import CorrespondenceClient
from correspondence_client.errors import ApiError, TransportError
from correspondence_client.progress import Progress
from correspondence_client.responses import FINAL_ORDER_STATUSES, CorrespondenceDetails

NO_ORDERS = ("Reserved",)


def final_orders(details: CorrespondenceDetails) -> Any:
    """`[[is_reminder, status, delivered, failed], ...]` when every order is recorded and every address
    of the main notification has its outcome (addresses delivered and failed per order), "Reserved"
    for a correspondence that gets no orders (its status goes on to Failed at publish), None while
    pending."""
    if details.status in NO_ORDERS or any(s.status in NO_ORDERS for s in details.status_history):
        return NO_ORDERS[0]
    orders = details.notifications
    if not orders or not all(o.status in FINAL_ORDER_STATUSES for o in orders):
        return None
    if not all(o.delivery_final for o in orders if not o.is_reminder):
        return None
    return [[1 if o.is_reminder else 0, o.status, o.delivered, o.failed] for o in orders]


def follow_orders(
    client: CorrespondenceClient, journal: Journal, options: Any, chunk_size: int, *, has_notification: bool
) -> dict[str, Any]:
    out = options.stream
    done = sorted(i for i, s in journal.chunks.items() if s.state == DONE)
    counts: dict[str, Any] = {
        "main": {s: 0 for s in FINAL_ORDER_STATUSES},
        "reminder": {s: 0 for s in FINAL_ORDER_STATUSES},
        "no_orders": 0,
        "not_final": 0,
        "correspondences": 0,
        "delivered": {"main": 0, "reminder": 0},
        "failed": {"main": 0, "reminder": 0},
    }
    if not has_notification:
        print("the message asks for no notifications: there are no orders to wait for", file=out)
        return counts
    records = [(i, journal.read_at(journal.chunks[i].result_offset) or {}) for i in done]
    total = sum(len(r.get("results") or []) for _, r in records)
    deadline = time.monotonic() + options.wait_timeout
    progress = Progress(
        "notifications",
        total,
        unit="final",
        stream=options.progress_stream,
        mode=options.progress,
        interval=options.progress_interval,
        show_failed=False,
        extra=lambda: "  ".join(
            f"{s} {_total(counts, s):,}" for s in FINAL_ORDER_STATUSES if _total(counts, s)
        ),
    )
    # one details request per correspondence (and again while its orders are pending): twice the
    # sending concurrency, as these are light reads
    with progress, ThreadPoolExecutor(2 * max(1, options.concurrency), thread_name_prefix="follow") as pool:
        for index, record in records:
            results = record.get("results") or []
            known = (journal.read_at(journal.chunks[index].orders_offset) or {}).get("orders")
            if known:
                _count(counts, known)
                progress.advance(len(known), skipped=True)
                continue
            finals: list[Any] = [None] * len(results)
            pending = []
            for position, (_, _, status) in enumerate(results):
                if status in NO_ORDERS:  # known from the Initialize answer
                    finals[position] = status
                    progress.advance(1)
                    _count(counts, [status])
                else:
                    pending.append(position)
            while pending and time.monotonic() < deadline:
                answers = pool.map(lambda p, results=results: _poll(client, results[p][1]), pending)
                still = []
                for position, final in zip(pending, answers):
                    if final is None:
                        still.append(position)
                    else:
                        finals[position] = final
                        progress.advance(1)
                        _count(counts, [final])
                pending = still
                if pending:
                    time.sleep(min(options.poll_interval, max(0.0, deadline - time.monotonic())))
            if pending:
                counts["not_final"] += len(pending)
            else:
                journal.orders(index, finals)
    counts["correspondences"] = total
    _table(counts, options.wait_timeout, out)
    return counts


def _poll(client: CorrespondenceClient, correspondence_id: str) -> Any:
    try:
        return final_orders(client.get_details(correspondence_id))
    except (ApiError, TransportError):
        return None  # asked again next round


def _total(counts: dict[str, Any], status: str) -> int:
    return counts["main"][status] + counts["reminder"][status]


def _count(counts: dict[str, Any], finals: list[Any]) -> None:
    for final in finals:
        if isinstance(final, str):
            counts["no_orders"] += 1
            continue
        for reminder, status, *delivery in final:
            phase = "reminder" if reminder else "main"
            counts[phase][status] += 1
            if delivery:  # addresses delivered and failed (journals of older runs have none)
                counts["delivered"][phase] += delivery[0]
                counts["failed"][phase] += delivery[1]


def _table(counts: dict[str, Any], timeout: float, out: Any) -> None:
    print(f"{'notification orders':<22}{'main':>10}{'reminder':>10}{'total':>10}", file=out)
    for status in FINAL_ORDER_STATUSES:
        main, reminder = counts["main"][status], counts["reminder"][status]
        print(f"  {status:<20}{main:>10,}{reminder:>10,}{main + reminder:>10,}", file=out)
    print(f"correspondences without orders (Reserved): {counts['no_orders']:,}", file=out)
    print(f"correspondences not final after {timeout:g} s: {counts['not_final']:,}", file=out)
    for outcome in ("delivered", "failed"):
        main, reminder = counts[outcome]["main"], counts[outcome]["reminder"]
        print(f"  addresses {outcome:<10}{main:>10,}{reminder:>10,}{main + reminder:>10,}", file=out)
