"""Load /docs in headless Chromium with no network and save a screenshot (docs/api.md: docs/swagger-ui.png).

By hand, not in CI (needs Chromium: `apt-get install -y chromium`):

    .venv/bin/python bench/docs_screenshot.py [--url http://127.0.0.1:8080/docs] [--out docs/swagger-ui.png]

Without --url it serves the app in this process on a free loopback port (/docs touches no database).
Chromium gets a proxy that does not exist for everything but loopback, so any asset from outside
this machine fails to load; the page must still render. Exits 1 unless the rendered DOM shows
Swagger UI with the service's operations and every request went to the local server.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--window-size=1280,1500",
    # Nothing off this machine answers: a proxy on a closed port for all but loopback.
    "--proxy-server=http://127.0.0.1:9",
]


def serve_app() -> tuple[str, list[str], object]:
    """The Flask app on a free loopback port in a thread; returns (base URL, requested paths, server)."""
    from werkzeug.serving import make_server

    from app.config import Settings
    from app.web import create_app

    data_dir = Path(tempfile.mkdtemp(prefix="docs-shot-"))
    settings = Settings(
        database_url="postgresql:///not-used-by-docs",
        redis_url=None,
        data_dir=data_dir,
        port=0,
        jwks_url=None,
        dev_keys=True,
    )
    app = create_app(settings)
    seen: list[str] = []
    wsgi = app.wsgi_app

    def recording(environ, start_response):
        seen.append(environ.get("PATH_INFO", ""))
        return wsgi(environ, start_response)

    app.wsgi_app = recording
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}", seen, server


def chromium(*args: str, profile: Path) -> subprocess.CompletedProcess:
    binary = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if not binary:
        raise SystemExit("Chromium not found: apt-get install -y chromium")
    return subprocess.run(
        [binary, *FLAGS, f"--user-data-dir={profile}", "--virtual-time-budget=15000", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def check(url: str, out: Path) -> dict:
    with tempfile.TemporaryDirectory(prefix="docs-chromium-") as profile:
        dom = chromium("--dump-dom", url, profile=Path(profile)).stdout
        out.parent.mkdir(parents=True, exist_ok=True)
        shot = chromium(f"--screenshot={out}", url, profile=Path(profile))
    operations = len(re.findall(r'class="opblock opblock-', dom))
    return {
        "url": url,
        "swagger_ui_rendered": 'class="swagger-ui' in dom and "Correspondence dispatch service" in dom,
        "operations_shown": operations,
        "screenshot": str(out) if out.exists() and out.stat().st_size > 10_000 else None,
        "chromium_exit": shot.returncode,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="a running service's /docs (default: serve the app in this process)")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "swagger-ui.png")
    args = parser.parse_args()
    seen: list[str] = []
    server = None
    url = args.url
    if not url:
        base, seen, server = serve_app()
        url = base + "/docs"
    try:
        result = check(url, args.out)
    finally:
        if server is not None:
            server.shutdown()
    if server is not None:
        result["paths_requested"] = sorted(set(seen))
        result["assets_from_this_server"] = sorted(p for p in set(seen) if p.startswith("/docs/assets/"))
    ok = result["swagger_ui_rendered"] and result["operations_shown"] > 0 and result["screenshot"]
    if server is not None:
        ok = ok and len(result["assets_from_this_server"]) >= 3
    print(json.dumps(result, indent=2))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
