"""`correspondence flower`: the broker of the running stack without copying a URL; auth where it matters."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import requests

from app.embedded import free_port
from app.supervise import RunState

BIN = Path(sys.executable).parent / "correspondence"


def flower_env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("FLOWER_") and k not in ("REDIS_URL", "CORRESPONDENCE_ENV")
    }
    return {**env, "CORRESPONDENCE_DATA_DIR": str(data_dir), **extra}


def start_flower(env: dict[str, str]) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen(
        [str(BIN), "flower", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            requests.get(base + "/healthcheck", timeout=1)
            return proc, base
        except requests.ConnectionError:
            time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    raise AssertionError(f"flower did not start:\n{proc.stdout.read()}")


def stop(proc: subprocess.Popen) -> str:
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        out, _ = proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
    return out


def test_flower_uses_the_broker_of_the_run_on_this_data_folder_and_its_api_answers(redis_url, tmp_path):
    # What `correspondence run` writes; the test process stands in for the live run.
    RunState(tmp_path).write(pid=os.getpid(), started=psutil.Process().create_time(), redis_url=redis_url)
    proc, base = start_flower(flower_env(tmp_path))
    try:
        resp = requests.get(base + "/api/workers", timeout=10)  # development: no 401
        assert resp.status_code == 200 and isinstance(resp.json(), dict)
    finally:
        out = stop(proc)
    assert f"broker {redis_url}" in out and "development only" in out


def test_without_a_broker_it_says_what_to_do(tmp_path):
    out = subprocess.run(
        [str(BIN), "flower"], env=flower_env(tmp_path), capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 1
    assert "no broker: set REDIS_URL, or start `correspondence run` first" in out.stderr


def test_production_refuses_flower_without_authentication_and_keeps_its_api_closed(redis_url, tmp_path):
    refused = subprocess.run(
        [str(BIN), "flower"],
        capture_output=True,
        text=True,
        timeout=60,
        env=flower_env(tmp_path, REDIS_URL=redis_url, CORRESPONDENCE_ENV="production"),
    )
    assert refused.returncode == 1 and "FLOWER_BASIC_AUTH" in refused.stderr

    proc, base = start_flower(
        flower_env(
            tmp_path, REDIS_URL=redis_url, CORRESPONDENCE_ENV="production", FLOWER_BASIC_AUTH="ops:s3cret"
        )
    )
    try:
        assert requests.get(base + "/api/workers", timeout=10).status_code == 401
        assert requests.get(base + "/api/workers", auth=("ops", "s3cret"), timeout=10).status_code == 200
    finally:
        out = stop(proc)
    assert "development only" not in out


def test_flower_beyond_loopback_needs_authentication_in_development_too(redis_url, tmp_path):
    for address in ("0.0.0.0", "::", "flower.example.org"):
        refused = subprocess.run(
            [str(BIN), "flower", "--address", address],
            capture_output=True,
            text=True,
            timeout=60,
            env=flower_env(tmp_path, REDIS_URL=redis_url),
        )
        assert refused.returncode == 1, refused.stderr
        assert "needs authentication" in refused.stderr and "FLOWER_BASIC_AUTH" in refused.stderr
    # The Procfile's role binds every interface: it starts only with authentication.
    refused = subprocess.run(
        [str(BIN), "flower"],
        capture_output=True,
        text=True,
        timeout=60,
        env=flower_env(tmp_path, REDIS_URL=redis_url, FLOWER_ADDRESS="0.0.0.0"),
    )
    assert refused.returncode == 1 and "FLOWER_BASIC_AUTH" in refused.stderr


def test_the_broker_password_is_not_logged(tmp_path):
    from app.cli import masked_url

    assert masked_url("amqp://user:s3cret@rabbit:5672/vhost") == "amqp://user:**@rabbit:5672/vhost"
    assert masked_url("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/0"
    port = free_port()  # nothing listens there: the log line comes before Flower connects
    proc = subprocess.Popen(
        [str(BIN), "flower", "--port", str(free_port())],
        env=flower_env(tmp_path, REDIS_URL=f"redis://:s3cret-password@127.0.0.1:{port}/0"),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        assert proc.stdout is not None
        line = ""
        deadline = time.monotonic() + 60
        while "Flower on" not in line and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line and proc.poll() is not None:
                break
        assert "Flower on" in line and "broker redis://:**@127.0.0.1" in line, line
        assert "s3cret-password" not in line
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)
