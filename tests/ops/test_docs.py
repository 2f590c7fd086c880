"""The README and the guides in docs/ hold together: every relative link reaches a file (and heading)
of the repository, every environment variable the settings read is documented, and `.ci/run` runs the
README's test command."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

# The modules that read the environment for the settings: load_settings() and the load_* helpers in
# app/config.py, event delivery, the webhook secrets' keys, the rate limiter and logging.
SETTINGS_SOURCES = [
    "app/config.py",
    "app/events_settings.py",
    "app/webhook_secrets.py",
    "app/api/rate_limit.py",
    "app/logs.py",
]
READS = re.compile(
    r"""(?:environ\.get|environ\[|env\.get|getenv|_bool|_list|_seconds)\(?\s*["']([A-Z][A-Z0-9_]*)["']"""
)
# a module constant naming its variable, e.g. ENV = "EVENTS_SECRET_KEYS" in app/webhook_secrets.py
CONSTANT = re.compile(r"""^[A-Z_]*ENV[A-Z_]*\s*=\s*["']([A-Z][A-Z0-9_]*)["']""", re.M)
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")


def without_code(text: str) -> str:
    """The text outside fenced code blocks and inline code spans."""
    text = re.sub(r"^```.*?^```", "", text, flags=re.M | re.S)
    return re.sub(r"`[^`\n]*`", "", text)


def anchor(heading: str) -> str:
    """GitHub's anchor of a heading: lowercase, punctuation but '-' and '_' dropped, spaces to '-'."""
    heading = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading.strip())
    return re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    seen: dict[str, int] = {}
    found = set()
    text = re.sub(r"^```.*?^```", "", path.read_text(encoding="utf-8"), flags=re.M | re.S)
    for match in re.finditer(r"^#{1,6} +(.+?) *#*$", text, re.M):
        base = anchor(match.group(1))
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return found


def relative_links(path: Path) -> list[str]:
    links = LINK.findall(without_code(path.read_text(encoding="utf-8")))
    return [link for link in links if not re.match(r"(?i)[a-z][a-z0-9+.-]*:", link)]


def test_the_guides_exist_and_the_readme_is_a_front_page():
    assert {p.name for p in DOCS} >= {"README.md", "operating.md", "sending.md", "api.md", "developing.md"}
    assert len((ROOT / "README.md").read_text(encoding="utf-8").splitlines()) <= 250
    assert "```mermaid" in (ROOT / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_points_to_a_file_and_heading_that_exist(doc: Path):
    broken = []
    for link in relative_links(doc):
        target, _, fragment = link.partition("#")
        path = (doc.parent / unquote(target)).resolve() if target else doc
        if not path.is_relative_to(ROOT) or not path.exists():
            broken.append(f"{link}: no such file in the repository")
        elif fragment and path.suffix == ".md" and fragment not in anchors(path):
            broken.append(f"{link}: no heading #{fragment} in {path.relative_to(ROOT)}")
    assert not broken, broken


def test_the_anchor_rule_is_githubs():
    assert anchor("Replayable retries (`Idempotency-Key`)") == "replayable-retries-idempotency-key"
    assert anchor("Identity: tokens, issuers and who may act for whom") == (
        "identity-tokens-issuers-and-who-may-act-for-whom"
    )
    assert anchor("E-mails per second (`bench/emails.py`)") == "e-mails-per-second-benchemailspy"


def settings_variables() -> set[str]:
    names: set[str] = set()
    for source in SETTINGS_SOURCES:
        text = (ROOT / source).read_text(encoding="utf-8")
        names |= set(READS.findall(text)) | set(CONSTANT.findall(text))
    return names


def test_every_environment_variable_the_settings_read_is_documented():
    names = settings_variables()
    assert {"DATABASE_URL", "NOTIFICATION_GATEWAY", "EVENTS_SECRET_KEYS", "RATE_LIMIT_BURST"} <= names
    documented = "\n".join(p.read_text(encoding="utf-8") for p in DOCS)
    missing = sorted(name for name in names if f"`{name}`" not in documented)
    assert not missing, f"not documented in README.md or docs/: {missing}"


def test_ci_runs_the_readmes_test_command():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    commands = re.findall(r"^```sh\n(.+?)\n```", readme[readme.index("## The two commands") :], re.M)
    test_command = next(c for c in commands if "pytest" in c)
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert test_command in ci.splitlines()
