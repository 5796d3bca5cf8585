"""The same article gives the same answer whatever the process, the batch it shares, the thread count and the
generator's engine: `cooplens predict` processes over the samples, in batches of 5 on 2 threads and one article at a
time on 1 thread with the shipped engine (CTranslate2), and with the transformers reference engine."""
import json
import os
import subprocess
import sys

import pytest

from conftest import EXAMPLES


def predict(tmp_path, name: str, batch_size: int, threads: int, *options: str) -> list:
    out = tmp_path / f"{name}.jsonl"
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    subprocess.run([sys.executable, "-m", "cooplens.serve.cli", "predict", str(EXAMPLES), "-o", str(out),
                    "--batch-size", str(batch_size), *options], check=True, capture_output=True, env=env)
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    return [(r["id"], r["predicted_types"], r["scope"], r["cooperation_probability"],
             [t["probability"] for t in r["types"]], r["summary_kind"], r["summary_en"]) for r in rows]


@pytest.mark.slow
def test_processes_batch_compositions_threads_and_engines_give_the_same_answers(tmp_path):
    batched = predict(tmp_path, "batched", 5, 2)
    assert batched == predict(tmp_path, "one-by-one", 1, 1)
    assert batched == predict(tmp_path, "hf-engine", 5, 2, "--set", "summarizer.engine=hf")
