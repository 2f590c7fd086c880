"""`correspondence send` reads its CSV as a stream: 100,000 rows cost about what 2,000 do.

The run goes to a stand-in for the service (answers Initialize with new ids and search with none) so
that 100,000 rows take seconds; every client-side part of a real run is there: the check pass
(duplicates in SQLite), 200 requests with the search before each, the journal, the result CSV."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MEASURE = (
    "import resource, sys\nfrom app.cli import main\ntry:\n    main(sys.argv[1:])\n"
    "except SystemExit as exit:\n    code = exit.code\n"
    "print('maxrss_kb', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, 'exit', code)\n"
)


class StandIn(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self._answer({"ids": []})

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self._answer(
            {
                "correspondences": [
                    {
                        "correspondenceId": str(uuid.uuid4()),
                        "status": "ReadyForPublish",
                        "recipient": r,
                        "notifications": None,
                    }
                    for r in body["recipients"]
                ],
                "attachmentIds": [],
            }
        )

    def _answer(self, payload: dict) -> None:
        data = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture()
def stand_in():
    server = ThreadingHTTPServer(("127.0.0.1", 0), StandIn)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def run(url: str, tmp_path: Path, rows: int) -> tuple[int, Path]:
    recipients = tmp_path / f"list-{rows}.csv"
    with open(recipients, "w") as handle:
        handle.write("recipient,name\n")
        handle.writelines(f"{800000000 + i},Firma {i}\n" for i in range(rows))
    message = tmp_path / "message.json"
    message.write_text(
        json.dumps(
            {
                "resourceId": "test-service",
                "sendersReference": "memory",
                "content": {"messageTitle": "Hei", "messageBody": "Hei"},
            }
        )
    )
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            MEASURE,
            "send",
            "--url",
            url,
            "--token",
            "t",
            "--recipients",
            str(recipients),
            "--message",
            str(message),
            "--progress",
            "none",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    words = done.stdout.split()
    assert "maxrss_kb" in words, done.stdout + done.stderr
    assert words[words.index("exit") + 1] == "0", done.stdout + done.stderr
    return int(words[words.index("maxrss_kb") + 1]), recipients.with_name(recipients.stem + ".result.csv")


def test_a_100000_row_file_is_sent_in_bounded_memory(stand_in, tmp_path):
    small, _ = run(stand_in, tmp_path, 2_000)
    large, result = run(stand_in, tmp_path, 100_000)
    with open(result) as handle:
        assert sum(1 for _ in handle) == 100_001
    assert large - small < 12 * 1024, f"{small} KiB for 2,000 rows, {large} KiB for 100,000"
