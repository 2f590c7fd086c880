"""/docs renders with no network: Swagger UI's files are served by the app, from a pinned package."""

from __future__ import annotations

import re
from html.parser import HTMLParser


class _Assets(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("src", "href") and value:
                self.urls.append(value)


def asset_urls(html: str) -> list[str]:
    parser = _Assets()
    parser.feed(html)
    return parser.urls


def test_docs_page_names_only_local_assets(client):
    resp = client.get("/docs")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    urls = asset_urls(html)
    assert {u.rsplit("/", 1)[-1] for u in urls} >= {
        "swagger-ui.css",
        "swagger-ui-bundle.js",
        "swagger-ui-standalone-preset.js",
    }
    assert not [u for u in urls if re.match(r"(?i)(https?:)?//", u)], urls
    assert not re.search(r"(?i)https?://", html), "the page itself names no remote address"
    assert '"validatorUrl": null' in html  # no badge fetched from validator.swagger.io


def test_every_asset_the_page_names_is_served_here(client):
    html = client.get("/docs").get_data(as_text=True)
    for url in asset_urls(html):
        resp = client.get(url)
        assert resp.status_code == 200, url
        assert len(resp.data) > 1000, url
        assert "max-age=86400" in resp.headers["Cache-Control"], url
    assert client.get("/docs/assets/swagger-ui-bundle.js").mimetype in (
        "text/javascript",
        "application/javascript",
    )
    assert client.get("/docs/assets/swagger-ui.css").mimetype == "text/css"


def test_asset_route_stays_inside_the_package_folder(client):
    assert client.get("/docs/assets/../__init__.py").status_code == 404
    assert client.get("/docs/assets/%2e%2e/flask_swagger_ui.py").status_code == 404
    assert client.get("/docs/assets/nothing-here.js").status_code == 404
