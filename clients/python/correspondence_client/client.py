"""`CorrespondenceClient`: every endpoint of the service a sender or a recipient uses.

Initialize and repetition (what holds is spelled out in the package README, "Idempotency"):

* one recipient: the request carries an `idempotentKey` (the caller's, one derived from the caller's
  `idempotency_key` string, or a random one fixed for the call), so a repeated attempt is refused
  with 409/1034 and the client answers with the correspondence the first attempt created;
* several recipients (the service refuses a key then, error 1047): after an attempt whose outcome
  is unknown the client waits `settle_seconds`, then searches the request's `sendersReference` for
  correspondences to the request's recipients that were not there before, and sends again only
  when there are none.

Event subscriptions are not offered: the service has no subscription endpoints yet.
"""

from __future__ import annotations

import dataclasses
import io
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import IO, Any, Union

import requests

from correspondence_client.auth import TokenSource
from correspondence_client.errors import ApiError, CorrespondenceClientError, OutcomeUnknown, TransportError
from correspondence_client.models import ForwardRequest, InitializeAttachment, InitializeRequest, form_fields
from correspondence_client.recipients import parse_recipient
from correspondence_client.responses import (
    AttachmentDetails,
    AttachmentOverview,
    CorrespondenceDetails,
    CorrespondenceOverview,
    InitializedCorrespondence,
    InitializeResponse,
)
from correspondence_client.transport import Ambiguous, RetryPolicy, Transport

API = "/correspondence/api/v1"
KEY_NAMESPACE = uuid.UUID("5b0f3c2e-8f4e-4c36-9a51-6f1d2f6b7c11")  # uuid5 namespace of derived keys
FileSpec = Union[bytes, str, Path, IO[bytes]]
SEARCH_PAGE = 1000


def derive_key(value: uuid.UUID | str) -> uuid.UUID:
    """An idempotentKey from a caller's stable string (a job id, a case number), or the UUID itself."""
    return value if isinstance(value, uuid.UUID) else uuid.uuid5(KEY_NAMESPACE, value)


def _recipient_key(value: str) -> str:
    return parse_recipient(value).urn or value.strip().lower()


class CorrespondenceClient:
    def __init__(
        self,
        base_url: str,
        token: TokenSource,
        *,
        timeout: float | tuple[float, float] = (5.0, 60.0),
        retry: RetryPolicy | None = None,
        settle_seconds: float = 3.0,
        lookup_concurrency: int = 8,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.transport = Transport(base_url, token, timeout=timeout, retry=retry, sleep=sleep)
        self.settle_seconds = settle_seconds
        self.lookup_concurrency = lookup_concurrency
        self.sleep = sleep

    def __enter__(self) -> CorrespondenceClient:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        self.transport.close()

    # -- Initialize -----------------------------------------------------------------------------

    def initialize(
        self,
        request: InitializeRequest,
        *,
        idempotency_key: uuid.UUID | str | None = None,
        unique_reference: bool = False,
        wait_seconds: float | None = None,
    ) -> InitializeResponse:
        """`POST /correspondence`. `idempotency_key`: for one recipient, a stable key (or string) that makes
        a repetition of this call in another process a no-op too. `unique_reference`: the caller promises
        that no other Initialize uses this sendersReference (saves the search taken before a
        multi-recipient request). `wait_seconds`: `Prefer: wait=N`, the orders come in the answer."""
        prefer = {"Prefer": f"wait={wait_seconds:g}"} if wait_seconds else {}
        return self._initialize(
            request,
            idempotency_key,
            unique_reference,
            lambda body, headers: self.transport.request(
                "POST", f"{API}/correspondence", json=body, repeatable=False, headers={**prefer, **headers}
            ),
        )

    def initialize_with_files(
        self,
        request: InitializeRequest,
        files: Sequence[tuple[str, FileSpec]],
        *,
        idempotency_key: uuid.UUID | str | None = None,
        unique_reference: bool = False,
    ) -> InitializeResponse:
        """`POST /correspondence/upload` (multipart): `files` are (fileName, bytes | path | binary file),
        matching `content.attachments[i].fileName` of the request."""
        opened: list[IO[bytes]] = []
        parts: list[tuple[str, tuple[str, Any, str]]] = []
        try:
            for name, spec in files:
                handle = _open(spec, opened)
                parts.append(("attachments", (name, handle, "application/octet-stream")))

            def post(body: dict[str, Any], headers: dict[str, str]) -> requests.Response:
                for _, (_, handle, _) in parts:
                    handle.seek(0)
                return self.transport.request(
                    "POST",
                    f"{API}/correspondence/upload",
                    repeatable=False,
                    data=form_fields(body),
                    files=parts,
                    headers=headers,
                )

            return self._initialize(request, idempotency_key, unique_reference, post)
        finally:
            for handle in opened:
                handle.close()

    def _initialize(
        self,
        request: InitializeRequest,
        idempotency_key: uuid.UUID | str | None,
        unique_reference: bool,
        post: Callable[[dict[str, Any], dict[str, str]], requests.Response],
    ) -> InitializeResponse:
        # as the service normalizes them; a plain 9-digit organization number becomes its URN (the
        # service would refuse it), what is no recipient goes as it is, for the service to refuse
        request = request.with_changes(recipients=[parse_recipient(r).urn or r for r in request.recipients])
        single = len(request.recipients) == 1
        if single:
            key = request.idempotent_key or (derive_key(idempotency_key) if idempotency_key else uuid.uuid4())
            request = request.with_changes(idempotent_key=key)
        elif request.idempotent_key is not None:
            raise ValueError("idempotent_key needs exactly one recipient (the service answers 1047)")
        baseline: set[uuid.UUID] = set()
        if not single and not unique_reference:
            baseline = set(self.iter_search(request.resource_id, senders_reference=request.senders_reference))
        body = request.to_json()
        # The same Idempotency-Key header on every attempt: a service that keeps such keys answers a
        # repeat with the first result (and 409 while the first is still in flight), so a resend after
        # a lost answer never stores twice, whatever the number of recipients. The checks below stay
        # for services that ignore the header.
        replay_key = {
            "Idempotency-Key": str(derive_key(idempotency_key) if idempotency_key else uuid.uuid4())
        }
        attempts = self.transport.retry.max_attempts
        for attempt in range(1, attempts + 1):
            try:
                response = post(body, replay_key)
                answer = InitializeResponse.from_json(response.json())
                if response.headers.get("Idempotent-Replayed") == "true":  # stored before, answered again
                    answer = dataclasses.replace(answer, recovered=True)
                return answer
            except ApiError as error:
                if single and error.status == 409 and error.error_code == 1034:
                    found = self.find_initialized(request)  # sent before: by an earlier attempt or run
                    if found is not None:
                        return found
                if error.status == 409 and error.error_code is None and attempt < attempts:
                    self.sleep(max(self.settle_seconds, self.transport.retry.backoff(attempt)))
                    continue  # the first request with this key is still in flight
                raise
            except Ambiguous as unknown:
                if attempt == attempts:
                    raise OutcomeUnknown(
                        f"Initialize {request.senders_reference!r}: no answer after "
                        f"{attempts} attempts ({unknown.reason})",
                        request,
                    ) from unknown
                self.sleep(max(self.settle_seconds, self.transport.retry.backoff(attempt)))
                if single:
                    continue  # the idempotentKey makes the next attempt safe
                try:
                    found = self.find_initialized(request, exclude=baseline)
                except (ApiError, TransportError) as exc:
                    raise OutcomeUnknown(
                        f"Initialize {request.senders_reference!r}: {unknown.reason}, "
                        f"and the check failed: {exc}",
                        request,
                    ) from exc
                if found is not None:
                    return found
        raise AssertionError("unreachable")

    def find_initialized(
        self,
        request: InitializeRequest,
        *,
        idempotency_key: uuid.UUID | str | None = None,
        exclude: Iterable[uuid.UUID] = (),
    ) -> InitializeResponse | None:
        """The correspondences an earlier Initialize of `request` created, or None when there are none.

        One recipient: looked up by the request's idempotentKey (or `idempotency_key`); several: by its
        sendersReference, leaving out `exclude`. Raises when only some recipients are found, or a
        recipient more than once (the reference is not unique to this request)."""
        key = request.idempotent_key or (derive_key(idempotency_key) if idempotency_key else None)
        if len(request.recipients) == 1 and key is not None:
            ids = self.search(request.resource_id, idempotent_key=key)
        else:
            skip = set(exclude)
            ids = [
                i
                for i in self.iter_search(request.resource_id, senders_reference=request.senders_reference)
                if i not in skip
            ]
        if not ids:
            return None
        with ThreadPoolExecutor(max(1, min(self.lookup_concurrency, len(ids)))) as pool:
            found = list(pool.map(self.get_details, ids))
        wanted = [_recipient_key(r) for r in request.recipients]
        by_recipient: dict[str, CorrespondenceDetails] = {}
        for details in found:
            recipient = details.recipient or ""
            if recipient in by_recipient:
                raise CorrespondenceClientError(
                    f"sendersReference {request.senders_reference!r} is not unique: "
                    f"{recipient} has several correspondences"
                )
            by_recipient[recipient] = details
        missing = [r for r in wanted if r not in by_recipient]
        if missing:
            raise CorrespondenceClientError(
                f"sendersReference {request.senders_reference!r}: {len(by_recipient)} "
                f"correspondences found, but not for {len(missing)} recipients "
                f"(e.g. {missing[0]})"
            )
        items = [
            InitializedCorrespondence(
                correspondence_id=by_recipient[r].correspondence_id,
                status=by_recipient[r].status,
                recipient=r,
                notifications=None,
                raw={},
            )
            for r in wanted
        ]
        return InitializeResponse(correspondences=items, attachment_ids=[], raw={}, recovered=True)

    # -- reading --------------------------------------------------------------------------------

    def get_overview(self, correspondence_id: uuid.UUID | str) -> CorrespondenceOverview:
        return CorrespondenceOverview.from_json(self._get_json(f"{API}/correspondence/{correspondence_id}"))

    def get_details(self, correspondence_id: uuid.UUID | str) -> CorrespondenceDetails:
        return CorrespondenceDetails.from_json(
            self._get_json(f"{API}/correspondence/{correspondence_id}/details")
        )

    def search(
        self,
        resource_id: str,
        *,
        role: str = "Sender",
        senders_reference: str | None = None,
        status: str | None = None,
        from_: Any = None,
        to: Any = None,
        on_behalf_of: str | None = None,
        idempotent_key: uuid.UUID | str | None = None,
        offset: int | None = None,
        limit: int | None = None,
    ) -> list[uuid.UUID]:
        """`GET /correspondence`: ids, newest requestedPublishTime first (at most 1000 per call)."""
        params = {
            "resourceId": resource_id,
            "role": role,
            "sendersReference": senders_reference,
            "status": status,
            "from": _iso(from_),
            "to": _iso(to),
            "onBehalfOf": on_behalf_of,
            "idempotentKey": str(idempotent_key) if idempotent_key else None,
            "offset": offset,
            "limit": limit,
        }
        answer = self._get_json(
            f"{API}/correspondence", params={k: v for k, v in params.items() if v is not None}
        )
        return [uuid.UUID(str(i)) for i in answer.get("ids", [])]

    def iter_search(self, resource_id: str, **filters: Any) -> Iterator[uuid.UUID]:
        """Every id `search` finds, page by page."""
        offset = 0
        while True:
            page = self.search(resource_id, offset=offset, limit=SEARCH_PAGE, **filters)
            yield from page
            if len(page) < SEARCH_PAGE:
                return
            offset += len(page)

    def _get_json(self, path: str, params: dict[str, Any] | None = None) -> Any:
        return self.transport.request("GET", path, params=params, repeatable=True).json()

    # -- the recipient's actions ----------------------------------------------------------------

    def get_content(self, correspondence_id: uuid.UUID | str) -> str:
        """The body as text (records Fetched and Read)."""
        return self.transport.request(
            "GET", f"{API}/correspondence/{correspondence_id}/content", repeatable=True
        ).text

    def mark_as_read(self, correspondence_id: uuid.UUID | str) -> uuid.UUID:
        return self._action(
            "POST", f"{API}/correspondence/{correspondence_id}/markasread", 1040, correspondence_id
        )

    def confirm(self, correspondence_id: uuid.UUID | str) -> uuid.UUID:
        return self._action(
            "POST", f"{API}/correspondence/{correspondence_id}/confirm", 1041, correspondence_id
        )

    def purge(self, correspondence_id: uuid.UUID | str) -> uuid.UUID:
        """The recipient's purge, or the sender's before publish."""
        return self._action(
            "DELETE", f"{API}/correspondence/{correspondence_id}/purge", 1014, correspondence_id
        )

    def forward(
        self, correspondence_id: uuid.UUID | str, forward_to: str, forwarding_text: str | None = None
    ) -> uuid.UUID | None:
        """The forwarding event's id; None when an earlier attempt whose answer was lost recorded it (1064)."""
        body = ForwardRequest(forward_to=forward_to, forwarding_text=forwarding_text).to_json()
        return self._action(
            "POST", f"{API}/correspondence/{correspondence_id}/forward", 1064, None, json=body
        )

    def _action(self, method: str, path: str, done_code: int, done_value: Any, **kwargs: Any) -> Any:
        """An action the service refuses to do twice with `done_code`: after a lost answer, that refusal
        of the next attempt means the lost one was carried out."""
        repeated = False
        for attempt in range(1, self.transport.retry.max_attempts + 1):
            try:
                answer = self.transport.request(method, path, repeatable=False, **kwargs).json()
                return uuid.UUID(str(answer))
            except Ambiguous as unknown:
                if attempt == self.transport.retry.max_attempts:
                    raise OutcomeUnknown(f"{method} {path}: {unknown.reason}") from unknown
                repeated = True
                self.sleep(self.transport.retry.backoff(attempt))
            except ApiError as error:
                if repeated and error.error_code == done_code:
                    return uuid.UUID(str(done_value)) if done_value is not None else None
                raise
        raise AssertionError("unreachable")

    def download_attachment_as_recipient(
        self,
        correspondence_id: uuid.UUID | str,
        attachment_id: uuid.UUID | str,
        to: str | Path | IO[bytes] | None = None,
    ) -> bytes | int:
        return self._download(
            f"{API}/correspondence/{correspondence_id}/attachment/{attachment_id}/download", to
        )

    # -- shared attachments (the sender's) ------------------------------------------------------

    def initialize_attachment(self, attachment: InitializeAttachment) -> uuid.UUID:
        """`POST /attachment`. Repeated after a lost answer: that may leave an unused attachment behind."""
        answer = self.transport.request(
            "POST", f"{API}/attachment", json=attachment.to_json(), repeatable=True
        )
        return uuid.UUID(str(answer.json()))

    def upload_attachment(self, attachment_id: uuid.UUID | str, data: FileSpec) -> AttachmentOverview:
        """`POST /attachment/{id}/upload`, streamed from a file or path. After a lost answer the attachment's
        status tells whether the upload arrived; it is sent again only while still `Initialized`."""
        opened: list[IO[bytes]] = []
        handle = _open(data, opened)
        path = f"{API}/attachment/{attachment_id}/upload"
        try:
            for attempt in range(1, self.transport.retry.max_attempts + 1):
                handle.seek(0)
                try:
                    answer = self.transport.request(
                        "POST",
                        path,
                        data=handle,
                        repeatable=False,
                        headers={"Content-Type": "application/octet-stream"},
                        rewind=lambda: handle.seek(0),
                    )
                    return AttachmentOverview.from_json(answer.json())
                except Ambiguous as unknown:
                    if attempt == self.transport.retry.max_attempts:
                        raise OutcomeUnknown(f"upload of {attachment_id}: {unknown.reason}") from unknown
                    self.sleep(max(self.settle_seconds, self.transport.retry.backoff(attempt)))
                    current = self.get_attachment(attachment_id)
                    if current.status != "Initialized":
                        return current
            raise AssertionError("unreachable")
        finally:
            for opened_handle in opened:
                opened_handle.close()

    def get_attachment(self, attachment_id: uuid.UUID | str) -> AttachmentOverview:
        return AttachmentOverview.from_json(self._get_json(f"{API}/attachment/{attachment_id}"))

    def get_attachment_details(self, attachment_id: uuid.UUID | str) -> AttachmentDetails:
        return AttachmentDetails.from_json(self._get_json(f"{API}/attachment/{attachment_id}/details"))

    def delete_attachment(self, attachment_id: uuid.UUID | str) -> None:
        self.transport.request("DELETE", f"{API}/attachment/{attachment_id}", repeatable=True)

    def download_attachment(
        self, attachment_id: uuid.UUID | str, to: str | Path | IO[bytes] | None = None
    ) -> bytes | int:
        return self._download(f"{API}/attachment/{attachment_id}/download", to)

    def _download(self, path: str, to: str | Path | IO[bytes] | None) -> bytes | int:
        """The bytes, or (with `to`, a path or a binary file) the number of bytes written there."""
        response = self.transport.request("GET", path, repeatable=True, stream=True)
        with response:
            if to is None:
                return response.content
            target = open(to, "wb") if isinstance(to, (str, Path)) else to  # noqa: SIM115 - closed below
            written = 0
            try:
                for block in response.iter_content(1 << 16):
                    target.write(block)
                    written += len(block)
            finally:
                if target is not to:
                    target.close()
            return written


def _open(spec: FileSpec, opened: list[IO[bytes]]) -> IO[bytes]:
    if isinstance(spec, (bytes, bytearray)):
        return io.BytesIO(bytes(spec))
    if isinstance(spec, (str, Path)):
        handle = open(spec, "rb")  # noqa: SIM115 - the caller closes everything in `opened`
        opened.append(handle)
        return handle
    return spec


def _iso(value: Any) -> str | None:
    return None if value is None else (value.isoformat() if hasattr(value, "isoformat") else str(value))
