"""Optional features name the extra that installs them; the list matches pyproject.toml's extras."""

from __future__ import annotations

import importlib.metadata
import tomllib

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from newsdesk.config import REPO_ROOT, Settings
from newsdesk.extras import EXTRAS, MissingExtra, require_extra, require_llm_packages


def test_each_extras_modules_come_from_the_packages_pyproject_declares_for_it() -> None:
    declared = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    providers = importlib.metadata.packages_distributions()
    for extra, modules in EXTRAS.items():
        names = {canonicalize_name(Requirement(r).name) for r in declared[extra]}
        for module in modules:
            assert {canonicalize_name(d) for d in providers[module]} & names, f"{module} is not in [{extra}]"


def test_dev_brings_the_baseline_so_the_suite_can_compare_with_it() -> None:
    declared = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert "newsdesk[baseline]" in declared["dev"]


def test_a_missing_module_names_the_extra_and_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    # Pure logic: the real missing packages are checked end to end in tests/test_install.py.
    monkeypatch.setitem(EXTRAS, "ollama", ("newsdesk_no_such_module",))
    with pytest.raises(MissingExtra) as missing:
        require_extra("ollama", "--llm ollama")
    message = str(missing.value)
    assert "'ollama' extra" in message and "pip install 'newsdesk[ollama]'" in message
    assert "\n" not in message
    with pytest.raises(MissingExtra):
        require_llm_packages(Settings(llm="ollama"))
    require_llm_packages(Settings(llm="extractive"))  # needs nothing


def test_installed_extras_pass() -> None:
    for extra in EXTRAS:
        require_extra(extra, "this test")
