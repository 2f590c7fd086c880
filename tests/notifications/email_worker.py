"""An e-mail worker process for the crash test: runs the smtp gateway's sending use case in a loop
(`python -m tests.notifications.email_worker DATABASE_URL SMTP_URL`), with a short lease."""

from __future__ import annotations

import sys
import time

from app.config import LeaseTerms
from app.db.pool import Database
from app.usecases.send_emails import EmailPolicy, send_due_emails
from workers.gateways.smtp import SmtpChannel, SmtpSettings


def main() -> None:
    database_url, smtp_url = sys.argv[1], sys.argv[2]
    batch = int(sys.argv[3]) if len(sys.argv) > 3 else 500
    db = Database(database_url, 2)
    channel = SmtpChannel(SmtpSettings.from_url(smtp_url, timeout=5), "noreply@correspondence.test")
    policy = EmailPolicy(
        batch=batch, lease=LeaseTerms(seconds=3.0, renew_seconds=1.0), retry_base_seconds=0.2
    )
    while True:
        if not send_due_emails(db, channel, policy=policy).claimed:
            time.sleep(0.05)


if __name__ == "__main__":
    main()
