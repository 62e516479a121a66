"""The reader's fitted numbers, in one JSON file (``model.json``) written by ``newsdesk.eval.calibrate``.

* ``sentence``: logistic weights of the sentence ranker (``spans.SENTENCE_FEATURES``);
* ``candidates``: weights of the candidate ranker (``rank.FEATURES``), a softmax over each
  question's answer groups;
* ``yesno``: ``support_threshold``, under which a claim counts as not supported by its article;
* ``abstain``: logistic weights over ``abstain.FEATURES`` and the ``threshold`` on the estimated
  chance that the evidence answers, under which the reader abstains.

Code holds no fitted constant: without the file the reader runs on ``spans.DEFAULT_SENTENCE_WEIGHTS``,
never abstains on evidence grounds and checks yes/no claims by negation and wording only.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_PATH = Path(__file__).with_name("model.json")


@dataclass
class ReaderModel:
    sentence_weights: dict[str, float] | None = None
    candidate_weights: dict[str, float] | None = None
    support_threshold: float = 0.0
    abstain_weights: dict[str, float] = field(default_factory=dict)
    threshold: float = 0.0
    meta: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path | None = None) -> ReaderModel:
        """The model in ``path`` (default ``model.json``); an empty model if there is none."""
        path = path or DEFAULT_PATH
        if not path.exists():
            return cls()
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(
            sentence_weights=data.get("sentence", {}).get("weights"),
            candidate_weights=data.get("candidates", {}).get("weights"),
            support_threshold=float(data.get("yesno", {}).get("support_threshold", 0.0)),
            abstain_weights={k: float(v) for k, v in data.get("abstain", {}).get("weights", {}).items()},
            threshold=float(data.get("abstain", {}).get("threshold", 0.0)),
            meta=data.get("meta", {}),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "sentence": {"weights": self.sentence_weights},
            "candidates": {"weights": self.candidate_weights},
            "yesno": {"support_threshold": self.support_threshold},
            "abstain": {"weights": self.abstain_weights, "threshold": self.threshold},
            "meta": self.meta,
        }

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_json(), indent=1, sort_keys=False) + "\n", encoding="utf-8")

    def probability(self, features: dict[str, float]) -> float:
        """The estimated chance that the evidence answers (1.0 without fitted weights)."""
        if not self.abstain_weights:
            return 1.0
        z = sum(self.abstain_weights.get(k, 0.0) * v for k, v in features.items())
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))
