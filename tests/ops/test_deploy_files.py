"""The Procfile and docker-compose.yml name the same roles, and nothing starts before the migrations."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def procfile() -> dict[str, str]:
    lines = (ROOT / "Procfile").read_text().splitlines()
    return {
        name.strip(): command.strip()
        for name, command in (line.split(":", 1) for line in lines if line.strip())
    }


def test_the_procfile_migrates_on_release():
    assert procfile()["release"] == "correspondence migrate"
    assert procfile()["flower"].startswith("correspondence flower")  # the broker and auth rules of the CLI


def test_compose_starts_every_role_after_migrate_succeeded():
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    roles = set(procfile()) - {"release"}
    assert roles <= set(services)
    assert services["migrate"]["command"] == ["correspondence", "migrate"]
    assert "migrate" not in services["migrate"]["depends_on"]
    for role in roles:
        depends = services[role]["depends_on"]
        assert depends["migrate"] == {"condition": "service_completed_successfully"}, role
        assert depends["postgres"] == {"condition": "service_healthy"}, role


def test_compose_flower_is_authenticated_and_published_on_loopback():
    flower = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]["flower"]
    assert all(str(port).startswith("127.0.0.1:") for port in flower["ports"])
    # It binds every interface of its container: `correspondence flower` starts there only with a login.
    assert "0.0.0.0" in flower["command"] and flower["environment"]["FLOWER_BASIC_AUTH"]


def test_compose_runs_celery_on_rabbitmq_and_workers_scale():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert "rabbitmq" in services
    worker = services["worker"]
    assert worker["environment"]["BROKER_URL"].startswith("amqp://")
    assert worker["depends_on"]["rabbitmq"] == {"condition": "service_healthy"}
    # `--scale worker=N`: no fixed name or published port, and each container its own hostname
    assert "container_name" not in worker and "ports" not in worker
    assert "--hostname" not in worker["command"]
    assert services["flower"]["environment"]["FLOWER_BROKER_API"].startswith("http://")
