"""Send the e-mails of the smtp gateway's orders, one message per address, and record each outcome
(issue 25). Run by a worker, under the one lease rule (app/usecases/lease.py):

1. Lease a batch of due deliveries (New, or Sending under a passed lease) and read what their
   messages need; commit.
2. With the lease renewed by a heartbeat and no transaction open while the server is waited on,
   one SMTP connection for the batch. Per address: MAIL, RCPT, DATA and the message but its end;
   then `Sending` is written (only while this worker still holds the address) in a transaction; the
   message's end (`.`) is written corked (TCP_CORK: held by the kernel, waking no one); the
   transaction is committed; the end is released (uncorked); the server's reply is read.
3. Per address, a short transaction records the outcome for a row still held, and, when that made
   its order final, the order's delivery events.

Exactly once: a process killed after the end's write still sends it (a closing socket flushes what
the kernel holds), and its COMMIT if written too; killed before it, nothing was sent and the
transaction rolls back (the address is New). A row committed `Sending` therefore had its end sent,
and is never sent again (a dead worker's is recorded `Succeeded`: handed over, the server's verdict
unknown). The one window left is between the two writes (the corked end, the COMMIT): consecutive
writes with no wake-up between them, microseconds, where a kill sends the message twice. A COMMIT
that fails resets the connection (the held end is dropped). Measured before this order: committing
`Sending` before writing the end lost one message in 500 per SIGKILL under load (the process woke
late after PostgreSQL's answer), and writing the end before the COMMIT uncorked sent one twice (the
server's wake-up preempted the worker between the writes). Elsewhere a kill costs the lease (20 s).
"""

from __future__ import annotations

import logging
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from app.config import LeaseTerms
from app.db.pool import Database
from app.db.repositories import correspondences as correspondence_repo
from app.db.repositories import deliveries as delivery_repo
from app.db.repositories import lifecycle as lifecycle_repo
from app.domain.correspondence import NEVER, SEND, notification_condition
from app.domain.deliveries import (
    EMAIL,
    FAILED,
    SENDING,
    SUCCEEDED,
    ChannelUnavailable,
    Handover,
    Reply,
    compose_email,
    message_id,
    retry_delay,
)
from app.usecases.lease import Lease, LeasedRows

log = logging.getLogger(__name__)

DELIVERIES = LeasedRows("notification_deliveries", "id", "locked_until")
HANDED_OVER = "handed over to the server; its reply was not recorded (the worker stopped)"


class EmailSession(Protocol):
    def send(self, sender: str, to: str, message: Any, handover: Handover) -> Reply | None: ...


class EmailChannel(Protocol):
    sender: str

    @property
    def domain(self) -> str: ...

    def session(self) -> Any: ...


@dataclass(frozen=True)
class EmailPolicy:
    batch: int = 100
    lease: LeaseTerms = field(default_factory=LeaseTerms)
    # A temporary failure (4xx, refused connection, timeout) is tried again after a backoff...
    retry_base_seconds: float = 2.0
    retry_max_seconds: float = 300.0
    # ... until this long after the address was recorded; then it is Failed with the last reason.
    give_up_after: timedelta = timedelta(hours=24)
    # A correspondence not yet published is looked at again after this.
    not_yet_delay: timedelta = timedelta(seconds=10)


@dataclass
class SendResult:
    succeeded: int = 0
    failed: int = 0
    retry: int = 0
    released: int = 0
    handed_over: int = 0
    not_sent: int = 0
    unreachable: str | None = None

    @property
    def claimed(self) -> int:
        return self.succeeded + self.failed + self.retry + self.released + self.handed_over + self.not_sent


def send_due_emails(
    db: Database,
    channel: EmailChannel,
    *,
    policy: EmailPolicy = EmailPolicy(),
    now: Callable[[], datetime] | None = None,
) -> SendResult:
    clock = now or (lambda: datetime.now(UTC))
    result = SendResult()
    with db.transaction() as conn:
        lease = Lease(db.url, DELIVERIES, policy.lease)  # its clock starts before the claim's now()
        rows = delivery_repo.claim_due_emails(conn, lease.token, policy.lease.seconds, policy.batch)
        if not rows:
            return result
        statuses = correspondence_repo.status_sets(conn, list({r["correspondence_id"] for r in rows}))

    to_send: list[dict[str, Any]] = []
    never: set[uuid.UUID] = set()
    not_yet: list[int] = []
    for row in rows:
        if row["status"] == SENDING:  # a dead worker's message, already handed over
            with db.statements() as conn:
                if _record(conn, lease, row, SUCCEEDED, HANDED_OVER, None):
                    result.handed_over += 1
            continue
        verdict = notification_condition(
            statuses.get(row["correspondence_id"]), is_reminder=row["is_reminder"]
        )
        if verdict == SEND:
            to_send.append(row)
        elif verdict == NEVER:
            never.add(row["order_id"])
            result.not_sent += 1
        else:
            not_yet.append(row["id"])
    if never or not_yet:
        with db.transaction() as conn:
            delivery_repo.drop_not_sent(conn, sorted(never), lease.token)
            delivery_repo.release(conn, not_yet, lease.token, policy.not_yet_delay)
        result.released += len(not_yet)
    if not to_send:
        return result

    # One connection in autocommit for the batch: each mark is one statement, each outcome one short
    # transaction; none is open while the server is spoken to.
    with lease.renewing(r["id"] for r in to_send), channel.session() as session, db.statements() as conn:
        for index, row in enumerate(to_send):
            if not lease.holds(row["id"]):
                result.released += 1
                continue
            mid = message_id(row["order_id"], EMAIL, row["address"], channel.domain)
            message = compose_email(
                row["order_request"] or {},
                sender=channel.sender,
                to=row["address"],
                recipient_name=row["recipient_name"],
                message_id=mid,
                now=clock(),
            )
            if message is None:
                _record(conn, lease, row, FAILED, "the order has no e-mail subject and body", "no-content")
                result.failed += 1
                continue
            try:
                reply = session.send(
                    channel.sender, row["address"], message, _Handover(conn, lease, row, mid)
                )
            except ChannelUnavailable as exc:
                result.unreachable = str(exc)
                log.warning("SMTP server unavailable; %d e-mails wait: %s", len(to_send) - index, exc)
                # A message whose end never left is still New; one whose reply was lost is Sending
                # (handed over) and is recorded Succeeded once this lease passes.
                for left in to_send[index:]:
                    _temporary(conn, lease, left, Reply(None, str(exc)), policy, clock, result)
                break
            if reply is None:  # the lease was lost before the message's end: nothing was sent
                result.released += 1
            elif reply.accepted:
                _record(conn, lease, row, SUCCEEDED, None, None)
                result.succeeded += 1
            elif reply.permanent:
                _record(conn, lease, row, FAILED, reply.described, reply.reason_code)
                result.failed += 1
            else:
                _temporary(conn, lease, row, reply, policy, clock, result)
            lease.release([row["id"]])  # recorded (or left): no longer renewed
        lease.release(r["id"] for r in to_send)
    return result


class _Handover:
    """Sending for one address on the batch's connection (autocommit otherwise): the UPDATE in a
    transaction left open while the message's end is written (one write of three bytes, no round
    trip), committed right after it. A worker killed before the commit leaves the address New (the
    message's end was not written, or was written microseconds before: the one window where a kill
    can send a message twice); killed after it, the address is Sending and never sent again."""

    def __init__(self, conn: Any, lease: Lease, row: dict[str, Any], mid: str) -> None:
        self.conn, self.lease, self.row, self.mid = conn, lease, row, mid

    def mark(self) -> bool:
        if not self.lease.holds(self.row["id"]):
            return False
        self.conn.execute("BEGIN")
        if delivery_repo.mark_sending(self.conn, self.row["id"], self.lease.token, self.mid):
            return True
        self.conn.execute("ROLLBACK")
        return False

    def commit(self) -> None:
        self.conn.execute("COMMIT")

    def abandon(self) -> None:
        self.conn.execute("ROLLBACK")


def _temporary(
    conn: Any,
    lease: Lease,
    row: dict[str, Any],
    reply: Reply,
    policy: EmailPolicy,
    clock: Callable[[], datetime],
    result: SendResult,
) -> None:
    if clock() - row["created"] >= policy.give_up_after:
        reason = f"gave up after {policy.give_up_after}: {reply.described}"
        if _record(conn, lease, row, FAILED, reason, "gave-up"):
            result.failed += 1
        return
    delay = retry_delay(
        row["attempts"] + 1, policy.retry_base_seconds, policy.retry_max_seconds, random.random()
    )
    with conn.transaction():
        if delivery_repo.retry_later(conn, row["id"], lease.token, delay, reply.described):
            result.retry += 1
        else:
            result.released += 1


def _record(
    conn: Any, lease: Lease, row: dict[str, Any], status: str, reason: str | None, code: str | None
) -> bool:
    """One address's final status and, when its order is now final, the order's events (one short
    transaction)."""
    with conn.transaction():
        order_id = delivery_repo.record_final(conn, row["id"], lease.token, status, reason, code)
        if order_id is None:
            return False
        lifecycle_repo.add_events(conn, delivery_repo.finish_orders(conn, [order_id]))
    return True
