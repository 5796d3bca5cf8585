"""The same article gives the same answer whatever the process, the batch it shares, the thread count and the
generator's engine: `cooplens predict` processes over the samples, in batches of 5 on 2 threads and one article at a
time on 1 thread with the shipped engine (CTranslate2), and with the transformers reference engine; and over the real
test-split articles whose answers used to move with the batch they shared (CTranslate2, and llama.cpp where the
optional extra is installed)."""
import json
import os
import subprocess
import sys

import pytest

from conftest import EXAMPLES, REPO

# Real test-split articles whose output changed with the batch composition (batches of 16 vs 3) before prompts were
# decoded alone and an encoder input's padding stopped depending on its batch: summary wording, a probability's 4th
# decimal, the guard's record
MOVED_WITH_THE_BATCH = ["bn-news-bn_coop-088", "bn-news-bn_coop-096", "fa-news-fa_coop-003", "fa-news-fa_neg-011",
                        "fa-news-fa_neg-012", "ur-news-ar_ur-039", "ar-news-ar_ur-095", "en-news-multi-111",
                        "en-news-multi-116", "en-news-multi-127", "en-news-multi-131", "en-news-multi-136",
                        "en-news-multi-139"]


def predict(source, out, batch_size: int, threads: int, *options: str) -> list:
    """Every output row of one `cooplens predict` process."""
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    subprocess.run([sys.executable, "-m", "cooplens.serve.cli", "predict", str(source), "-o", str(out),
                    "--batch-size", str(batch_size), *options], check=True, capture_output=True, env=env)
    return [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]


def answers(rows: list) -> list:
    return [(r["id"], r["predicted_types"], r["scope"], r["cooperation_probability"],
             [t["probability"] for t in r["types"]], r["summary_kind"], r["summary_en"]) for r in rows]


@pytest.mark.slow
def test_processes_batch_compositions_threads_and_engines_give_the_same_answers(tmp_path):
    batched = answers(predict(EXAMPLES, tmp_path / "batched.jsonl", 5, 2))
    assert batched == answers(predict(EXAMPLES, tmp_path / "one-by-one.jsonl", 1, 1))
    # the transformers engine too: in about half of its processes, the first encoder pass after its generator loaded
    # moved a probability by up to 0.006 (CI saw it) until the analyzer made one pass at load (models/analyzer.py)
    assert answers(predict(EXAMPLES, tmp_path / "hf-engine.jsonl", 5, 2, "--set", "summarizer.engine=hf")) == batched


def moved_articles(tmp_path):
    from cooplens.models.labelled import read_rows

    rows = [r for r in read_rows(REPO / "data" / "corpus" / "corpus.jsonl") if r["id"] in MOVED_WITH_THE_BATCH]
    source = tmp_path / "articles.jsonl"
    source.write_text("".join(json.dumps({"id": r["id"], "title": r.get("title"), "text": r["text"]},
                                         ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return source


@pytest.mark.slow
@pytest.mark.parametrize("engine", ["ctranslate2", "llama.cpp"])
def test_real_articles_that_moved_with_the_batch_give_the_same_rows(tmp_path, engine):
    if engine == "llama.cpp":
        pytest.importorskip("llama_cpp")        # the optional extra cooplens[llamacpp]
    source, options = moved_articles(tmp_path), ("--set", f"summarizer.engine={engine}")
    together = predict(source, tmp_path / "together.jsonl", len(MOVED_WITH_THE_BATCH), 2, *options)
    assert len(together) == len(MOVED_WITH_THE_BATCH) and all(r["summary_kind"] != "digest" for r in together)
    assert together == predict(source, tmp_path / "in-threes.jsonl", 3, 1, *options)     # every field of every row
