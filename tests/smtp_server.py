"""A real SMTP server on loopback for tests (aiosmtpd, in a thread of the test process): keeps every
message it accepted, refuses chosen recipients with a 5xx or 4xx reply, can go down and come back
on the same port."""

from __future__ import annotations

import socket
import threading
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class SmtpServer:
    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.messages: list[EmailMessage] = []
        # address (lowercase) → the reply RCPT gets instead of 250, e.g. "550 5.1.1 No such user"
        self.refuse: dict[str, str] = {}
        self.lock = threading.Lock()
        self.controller: Controller | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def start(self) -> None:
        owner = self

        class Handler:
            async def handle_RCPT(
                self, server: Any, session: Any, envelope: Any, address: str, options: Any
            ) -> str:
                reply = owner.refuse.get(address.lower())
                if reply:
                    return reply
                envelope.rcpt_tos.append(address)
                return "250 OK"

            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                message = message_from_bytes(
                    envelope.original_content or envelope.content, policy=policy.default
                )
                with owner.lock:
                    for rcpt in envelope.rcpt_tos:
                        message["X-Envelope-To"] = rcpt
                    owner.messages.append(message)  # type: ignore[arg-type]
                return "250 Message accepted for delivery"

        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def received(self) -> list[EmailMessage]:
        with self.lock:
            return list(self.messages)

    def per_address(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for m in self.received():
            for to in m.get_all("X-Envelope-To") or []:
                counts[to.lower()] = counts.get(to.lower(), 0) + 1
        return counts
