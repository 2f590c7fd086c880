"""Memory of the download-all zip: flat, whatever the size (by hand, not in CI; about a minute).

    .venv/bin/python bench/download_all_memory.py [--files 4] [--mib 1024 64]

On a scratch database, creates one published correspondence per size with `--files` attachments
(sent small through the multipart Initialize, then their stored files replaced by large ones of
incompressible bytes and their recorded sizes updated), then downloads each zip through the web
app's WSGI callable in this process, reading the body chunk by chunk as a server would, while a
thread samples this process's resident memory (RSS) every 5 ms. Reports, per size, RSS just before
the request and the peak during it; the body length must equal `Content-Length` and end with the
zip's end-of-central-directory record. Writes bench/results/download-all-memory-<UTC time>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import psutil
from common import ROOT, admin_database_url, drop_database, redis_url, scratch_database

RESULTS = Path(__file__).resolve().parent / "results"
SENDER = "urn:altinn:organization:identifier-no:991825827"
RECIPIENT_PID = "08900499559"
MIB = 1024 * 1024


class PeakRss(threading.Thread):
    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.process = psutil.Process()
        self.peak = 0
        self.running = True

    def run(self) -> None:
        while self.running:
            self.peak = max(self.peak, self.process.memory_info().rss)
            time.sleep(0.005)

    def stop(self) -> int:
        self.running = False
        self.join()
        return max(self.peak, self.process.memory_info().rss)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=4)
    parser.add_argument("--mib", type=int, nargs="+", default=[1024, 64], help="total size of each zip")
    args = parser.parse_args()

    admin = admin_database_url()
    url, name = scratch_database(admin)
    workdir = Path(tempfile.mkdtemp(prefix="download-all-"))
    try:
        os.environ.update(
            DATABASE_URL=url,
            REDIS_URL=redis_url(),
            CORRESPONDENCE_DATA_DIR=str(workdir / "data"),
            PROMETHEUS_MULTIPROC_DIR=str(workdir),
            LOG_LEVEL="WARNING",
        )
        result = run(args.files, args.mib)
    finally:
        drop_database(admin, name)
        for path in sorted(workdir.rglob("*"), reverse=True):
            path.unlink() if path.is_file() else path.rmdir()
        workdir.rmdir()
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"download-all-memory-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    print(f"wrote {out.relative_to(ROOT)}")


def run(files: int, sizes_mib: list[int]) -> dict:
    from werkzeug.datastructures import MultiDict
    from werkzeug.test import EnvironBuilder

    from app.config import DEV_ISSUER
    from app.db.repositories.registry import upsert_parties, upsert_resources
    from app.domain.registry import parse_registry_file
    from app.security.tokens import load_or_create_dev_key, mint_token
    from app.storage import storage_from_settings
    from app.usecases.publish_correspondences import publish_due
    from app.web import create_app

    service = create_app()
    services = service.extensions["correspondence"]
    registry = json.loads((ROOT / "tests" / "data" / "registry.json").read_text())
    with services.db.transaction() as conn:
        resources, parties = parse_registry_file(registry)
        upsert_resources(conn, resources)
        upsert_parties(conn, parties)
    key = load_or_create_dev_key(services.settings.dev_key_path)
    sender = mint_token(
        key, issuer=DEV_ISSUER, scopes=["altinn:correspondence.write"], org=SENDER, ttl_seconds=3600
    )
    recipient = mint_token(
        key,
        issuer=DEV_ISSUER,
        scopes=["altinn:correspondence.read"],
        org=None,
        pid=RECIPIENT_PID,
        ttl_seconds=3600,
    )
    storage = storage_from_settings(services.settings)
    client = service.test_client()
    block = os.urandom(MIB)  # incompressible; stored entries do not care, but honest bytes
    runs = []
    for total_mib in sizes_mib:
        fields = [
            ("correspondence.resourceId", "test-service"),
            ("correspondence.sendersReference", "bench"),
            ("correspondence.content.language", "nb"),
            ("correspondence.content.messageTitle", f"Bench {total_mib} MiB"),
            ("correspondence.content.messageBody", "Vedlegg"),
            ("recipients[0]", f"urn:altinn:person:identifier-no:{RECIPIENT_PID}"),
        ]
        for i in range(files):
            fields += [
                (f"correspondence.content.attachments[{i}].fileName", "del.pdf"),
                (f"correspondence.content.attachments[{i}].sendersReference", f"ref-{i}"),
            ]
        data = MultiDict(fields)
        for _ in range(files):
            data.add("attachments", (_small(), "del.pdf"))
        answer = client.post(
            "/correspondence/api/v1/correspondence/upload",
            data=data,
            headers={"Authorization": f"Bearer {sender}"},
            content_type="multipart/form-data",
        )
        assert answer.status_code == 200, answer.get_data(as_text=True)
        body = answer.get_json()
        cid = body["correspondences"][0]["correspondenceId"]
        each = total_mib // files
        for attachment_id in body["attachmentIds"]:
            storage.save(attachment_id, (block for _ in range(each)))
            with services.db.transaction() as conn:
                conn.execute(
                    "UPDATE attachments SET attachment_size = %s WHERE id = %s",
                    (each * MIB, uuid.UUID(attachment_id)),
                )
        while publish_due(services.db).jobs:
            pass

        environ = EnvironBuilder(
            path=f"/correspondence/api/v1/correspondence/{cid}/attachments/downloadall",
            headers={"Authorization": f"Bearer {recipient}"},
        ).get_environ()
        headers: dict[str, str] = {}

        def start_response(
            status: str, response_headers: list, exc_info: object = None, headers: dict = headers
        ) -> None:
            headers.update(response_headers)
            headers["status"] = status

        before = psutil.Process().memory_info().rss
        sampler = PeakRss()
        sampler.start()
        started = time.perf_counter()
        received, tail = 0, b""
        body_iter = service.wsgi_app(environ, start_response)
        try:
            for chunk in body_iter:
                received += len(chunk)
                tail = (tail + chunk)[-22:]
        finally:
            getattr(body_iter, "close", lambda: None)()
        seconds = time.perf_counter() - started
        peak = sampler.stop()
        assert headers["status"].startswith("200"), headers
        assert received == int(headers["Content-Length"]), (received, headers)
        assert tail[:4] == b"PK\x05\x06", tail  # end of central directory, no comment
        runs.append(
            {
                "zip_bytes": received,
                "attachments": files,
                "seconds": round(seconds, 2),
                "mib_per_second": round(received / MIB / seconds, 1),
                "rss_before_mib": round(before / MIB, 1),
                "rss_peak_mib": round(peak / MIB, 1),
                "rss_growth_mib": round((peak - before) / MIB, 1),
            }
        )
        for attachment_id in body["attachmentIds"]:
            storage.delete(attachment_id)
    return {"what": "download-all zip, in-process WSGI, peak RSS while streaming", "runs": runs}


def _small():
    import io

    return io.BytesIO(b"x")


if __name__ == "__main__":
    main()
