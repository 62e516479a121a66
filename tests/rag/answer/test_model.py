"""The fitted numbers live in ``rag/answer/model.json`` and match the code's feature lists."""

from pathlib import Path

from newsdesk.rag.answer.abstain import FEATURES
from newsdesk.rag.answer.model import DEFAULT_PATH, ReaderModel
from newsdesk.rag.answer.spans import DEFAULT_SENTENCE_WEIGHTS, SENTENCE_FEATURES


def test_model_file_matches_the_features() -> None:
    model = ReaderModel.load()
    assert DEFAULT_PATH.exists()
    assert set(model.abstain_weights) == set(FEATURES)
    assert 0.0 < model.threshold < 1.0
    assert 0.0 <= model.support_threshold <= 1.0
    assert model.meta.get("cross_validated"), "calibrate writes its held-out numbers beside the weights"
    assert set(DEFAULT_SENTENCE_WEIGHTS) == set(SENTENCE_FEATURES)
    assert model.sentence_weights is None or set(model.sentence_weights) == set(SENTENCE_FEATURES)


def test_missing_evidence_lowers_the_confidence() -> None:
    model = ReaderModel.load()
    base = dict.fromkeys(FEATURES, 0.0) | {
        "bias": 1.0,
        "best_overlap": 0.8,
        "answer_score": 0.5,
        "order_kept": 1.0,
    }
    sure = model.probability(base)
    for feature in ("names_missing", "numbers_missing", "outlet_missing", "negation_unmatched"):
        assert model.probability(base | {feature: 1.0}) < sure


def test_without_a_model_file_nothing_is_refused_on_evidence(tmp_path: Path) -> None:
    model = ReaderModel.load(tmp_path / "none.json")
    assert model.probability({"bias": 1.0, "names_missing": 1.0}) == 1.0
    assert model.sentence_weights is None
