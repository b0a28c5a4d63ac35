from decimal import Decimal

import pytest

from kore.suggestions.engine import DEFAULT_METHOD, Centroid, Example, NaiveBayes, Text, loads
from kore.suggestions.evaluation import TRAINERS, evaluate, rows_generate

CLASSIFIERS = pytest.mark.parametrize("kind", [Centroid, NaiveBayes], ids=lambda k: k.method)


def _text(payee: str, amount: str = "-10") -> Text:
    return Text(payee, "", Decimal(amount))


@CLASSIFIERS
def test_a_known_payee_with_a_typo_gets_its_category_first(kind):
    examples = [Example(_text("NETFLIX.COM"), 1), Example(_text("REWE Markt"), 2)] * 5
    found = kind.train(examples).suggest(_text("NETFLX.COM 8899"))
    assert found[0].category_id == 1
    assert found[0].confidence > found[1].confidence


@CLASSIFIERS
def test_at_most_three_suggestions_best_first_confidences_sum_to_at_most_one(kind):
    names = ("alpha", "bravo", "charlie", "delta", "echo", "foxtrot")
    examples = [Example(_text(f"{name} shop"), c) for c, name in enumerate(names)] * 3
    found = kind.train(examples).suggest(_text("echo shop"))
    assert len(found) == 3
    assert found[0].category_id == 4
    assert [s.confidence for s in found] == sorted((s.confidence for s in found), reverse=True)
    assert sum(s.confidence for s in found) <= 1.0 + 1e-9


@CLASSIFIERS
def test_a_stored_model_suggests_what_the_trained_one_did(kind):
    examples = [Example(_text("Shell"), 7), Example(_text("Aral", "-70"), 8)] * 4
    model = kind.train(examples)
    assert loads(model.dumps()).suggest(_text("SHELL 12")) == model.suggest(_text("SHELL 12"))


@CLASSIFIERS
def test_no_history_suggests_nothing(kind):
    assert kind.train([]).suggest(_text("anything")) == []


def test_on_hard_data_the_default_beats_the_payee_baseline():
    rows = rows_generate(4000)
    baseline = evaluate("payee_majority", TRAINERS["payee_majority"], rows, measure_memory=False)
    default = evaluate(DEFAULT_METHOD, TRAINERS[DEFAULT_METHOD], rows, measure_memory=False)
    assert default.top1 > baseline.top1
    assert default.top3 >= default.top1
    assert default.new_payee_top1 > baseline.new_payee_top1


def test_the_bench_prints_every_method(tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[3]
    env = {**os.environ, "BENCH_SUGGESTIONS_ROWS": "2000"}
    env.pop("BENCH_EMBEDDINGS_PYTHON", None)
    done = subprocess.run(
        [sys.executable, str(root / "bench" / "suggestions.py")],
        capture_output=True, text=True, check=True, timeout=120, env=env, cwd=tmp_path,
    )  # fmt: skip
    for method in TRAINERS:
        assert f"\n{method} " in done.stdout
    assert "embeddings: not measured" in done.stdout
