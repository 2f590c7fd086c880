"""The client package stands alone: installable with pip, importing nothing of the service; and its
recipient rules are the service's (compared here, in the tests, with app.domain.recipients)."""

from __future__ import annotations

import ast
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from app.domain import recipients as server
from correspondence_client import is_valid_ssn, parse_recipient
from tests.client.conftest import CLIENT_DIR

PACKAGE = CLIENT_DIR / "correspondence_client"


def test_imports_nothing_of_the_service():
    imported = set()
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                imported |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                imported.add(node.module.split(".")[0])
    assert imported & {"app", "workers", "tests", "flask", "psycopg", "celery", "stdnum"} == set()
    assert imported - set(sys.stdlib_module_names) == {"correspondence_client", "requests", "urllib3"}


def test_installs_with_pip_and_imports_alone(tmp_path):
    source, target = tmp_path / "src", tmp_path / "site"  # a copy: the build leaves build/ behind
    shutil.copytree(CLIENT_DIR, source, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(source)],
        check=True,
        capture_output=True,
        timeout=180,
    )
    code = (
        "import sys, correspondence_client as c; from correspondence_client.bulk import send; "
        "assert 'app' not in sys.modules and 'flask' not in sys.modules; print(c.__file__)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"},
        check=True,
    )
    assert done.stdout.strip().startswith(str(target))


SYNTHETIC = {
    "fødselsnummer": "089004995",
    "D-number (day + 40)": "410190123",
    "H-number (month + 40)": "014590123",
    "Tenor (month + 80)": "268180990",
}


@pytest.mark.parametrize("base", SYNTHETIC.values(), ids=SYNTHETIC.keys())
def test_synthetic_numbers_pass_with_their_check_digits_as_in_the_service(base):
    endings = [f"{k:02d}" for k in range(100)]
    ours = [e for e in endings if is_valid_ssn(base + e)]
    assert ours == [e for e in endings if server.is_valid_ssn(base + e)]
    assert len(ours) == 1  # no date check: only the two check digits decide


def test_ssn_check_agrees_with_the_service_on_random_numbers():
    rng = random.Random(15)
    numbers = [f"{rng.randrange(10**11):011d}" for _ in range(20000)]
    assert [n for n in numbers if is_valid_ssn(n) != server.is_valid_ssn(n)] == []
    assert sum(map(is_valid_ssn, numbers)) > 100  # valid ones are among them (about 1 in 121)


@pytest.mark.parametrize(
    "value",
    [
        "urn:altinn:organization:identifier-no:313721779",
        "0192:313721779",
        "08900499559",
        "08900499558",
        "urn:altinn:person:identifier-no:08900499559",
        "urn:altinn:person:identifier-no:08900499558",
        "urn:altinn:person:idporten-email:Ola@Example.com",
        "urn:altinn:person:idporten-email:ola",
        "urn:altinn:person:legacy-selfidentified:OlaNordmann",
        "URN:ALTINN:ORGANIZATION:IDENTIFIER-NO:313721779",
        "1234:313721779",
        "31372177",
        "abc",
        "urn:altinn:person:identifier-no:0890049955",
    ],
)
def test_recipient_rules_and_normalization_are_the_services(value):
    parsed = parse_recipient(value)
    accepted = server.validate_recipient(value) is None
    assert parsed.valid == accepted
    if accepted:
        assert parsed.urn == server.normalize_recipient(value)


def test_a_plain_organization_number_is_taken_as_its_urn():
    assert server.validate_recipient("313721779") is not None  # the service refuses it
    assert parse_recipient(" 313721779 ").urn == "urn:altinn:organization:identifier-no:313721779"


def test_send_without_requests_says_in_one_line_what_to_install(tmp_path):
    """An install made with the README's run command (`pip install -e .`) has no `requests`."""
    stub = tmp_path / "stub" / "requests"
    stub.mkdir(parents=True)
    (stub / "__init__.py").write_text(
        "raise ModuleNotFoundError(\"No module named 'requests'\", name='requests')\n"
    )
    (tmp_path / "to.csv").write_text("recipient\n310654329\n")
    (tmp_path / "message.json").write_text('{"correspondence": {"resourceId": "x"}}')
    done = subprocess.run(
        [
            str(Path(sys.executable).parent / "correspondence"),
            "send",
            "--recipients",
            str(tmp_path / "to.csv"),
            "--message",
            str(tmp_path / "message.json"),
            "--dry-run",
        ],
        env={**os.environ, "PYTHONPATH": str(tmp_path / "stub")},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    assert done.stderr.strip().splitlines() == [
        "Error: `correspondence send` needs the client library and requests: pip install ./clients/python"
    ]
