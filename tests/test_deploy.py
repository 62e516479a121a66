"""The hosting recipe's files (docs/deploy.md): the systemd unit and the root ``app.py`` that Hugging
Face Spaces-style hosts run. The nginx part runs for real in tests/ui/test_proxy.py."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from newsdesk.cli import build_parser
from newsdesk.config import REPO_ROOT, Settings
from tests.support import free_port

UNIT = REPO_ROOT / "deploy" / "newsdesk.service"


def unit_entries(path: Path) -> list[tuple[str, str, str]]:
    """(section, key, value) for every ``Key=Value`` line of a systemd unit, repeated keys kept."""
    entries, section = [], ""
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        entries.append((section, key, value))
    return entries


def test_the_unit_serves_as_a_dedicated_user_from_a_data_folder_it_may_write() -> None:
    service = {(k): v for s, k, v in unit_entries(UNIT) if s == "Service" and k != "Environment"}
    environment = dict(
        v.partition("=")[::2] for s, k, v in unit_entries(UNIT) if s == "Service" and k == "Environment"
    )
    assert service["User"] == "newsdesk" and service["Group"] == "newsdesk"
    assert service["ProtectSystem"] == "strict" and service["NoNewPrivileges"] == "yes"
    # The one writable folder is the state directory, and Newsdesk keeps its data there.
    assert (
        environment["NEWSDESK_HOME"] == f"/var/lib/{service['StateDirectory']}" == service["WorkingDirectory"]
    )
    settings = Settings(
        **{name.removeprefix("NEWSDESK_").lower(): value for name, value in environment.items()}
    )
    assert settings.host == "127.0.0.1" and settings.trusted_proxies == "127.0.0.1"
    assert settings.root_path == "/newsdesk"  # the sub-path of deploy/nginx.conf
    assert "location /newsdesk/" in (REPO_ROOT / "deploy" / "nginx.conf").read_text()
    command = shlex.split(service["ExecStart"])
    assert Path(command[0]).name == "newsdesk" and build_parser().parse_args(command[1:]).command == "serve"


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_systemd_accepts_the_unit(tmp_path: Path) -> None:
    # Pointed at this venv's command, which exists here (the unit names /opt/newsdesk's).
    unit = tmp_path / "newsdesk.service"
    unit.write_text(
        UNIT.read_text().replace("/opt/newsdesk/bin/newsdesk", str(Path(sys.executable).parent / "newsdesk"))
    )
    verified = subprocess.run(
        ["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=120
    )
    assert verified.returncode == 0, verified.stderr


def test_app_py_takes_the_hosts_address_and_storage_unless_newsdesk_settings_say_otherwise(
    tmp_path: Path,
) -> None:
    sys.path.insert(0, str(REPO_ROOT))
    try:
        from app import hosted_environment
    finally:
        sys.path.remove(str(REPO_ROOT))
    host = {"GRADIO_SERVER_NAME": "0.0.0.0", "GRADIO_SERVER_PORT": "7860"}
    assert hosted_environment(host, persistent=str(tmp_path / "absent")) == {
        "NEWSDESK_HOST": "0.0.0.0",
        "NEWSDESK_PORT": "7860",
    }
    assert hosted_environment({**host, "NEWSDESK_PORT": "9000"}, persistent=str(tmp_path))[
        "NEWSDESK_HOME"
    ] == (f"{tmp_path}/newsdesk")
    assert "NEWSDESK_PORT" not in hosted_environment({**host, "NEWSDESK_PORT": "9000"}, str(tmp_path))
    assert hosted_environment({}, persistent=str(tmp_path / "absent")) == {}


def test_python_app_py_serves_the_demo_as_a_spaces_host_runs_it(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSDESK_")}
    env.update({"GRADIO_SERVER_NAME": "127.0.0.1", "GRADIO_SERVER_PORT": str(port)})
    env["NEWSDESK_HOME"] = str(tmp_path / "data")  # no /data here: the host's storage is this folder
    log = (tmp_path / "app.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "app.py"], cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 240
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"python app.py did not start: {(tmp_path / 'app.log').read_text()}")
                time.sleep(0.5)
        query = "q=Who+is+visiting+Beijing+for+security+talks%3F"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/ask?{query}", timeout=120) as response:
            assert "Shoigu" in json.loads(response.read())["answer"]
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()
