"""Shared fixtures: the real embedding model (loaded once) and real Chroma indexes in temp folders."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

os.environ.update(
    {"HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False", "ANONYMIZED_TELEMETRY": "False"}
)

from index.embed import Embedder
from newsdesk.config import REPO_ROOT, Settings
from newsdesk.wiring import Newsdesk

SEEDS = REPO_ROOT / "seeds"
SEED_ARTICLE = SEEDS / "china-russia-security-talks.txt"


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    model = Embedder()
    model.warm_up()
    return model


@pytest.fixture
def make_desk(tmp_path: Path, embedder: Embedder) -> Callable[..., Newsdesk]:
    """A Newsdesk over a fresh index in tmp_path, sharing the session's model."""

    def make(**overrides: object) -> Newsdesk:
        settings = Settings(db=tmp_path / "index", **overrides)  # type: ignore[arg-type]
        return Newsdesk(settings, embedder=embedder)

    return make


@pytest.fixture
def seeded_desk(make_desk: Callable[..., Newsdesk]) -> Newsdesk:
    desk = make_desk()
    desk.indexer.index_paths([SEEDS])
    return desk
