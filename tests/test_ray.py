"""`cooplens predict --engine ray` on a local Ray cluster started by the test: the same rows, ids, errors and
answers as the local engine, resume included."""
import json

import pytest

ray = pytest.importorskip("ray")

from cooplens.serve.batch import read_inputs, run_batch   # noqa: E402
from hostile_inputs import make_jsonl                      # noqa: E402


@pytest.fixture(scope="module")
def local_cluster():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, ignore_reinit_error=True)
    yield
    ray.shutdown()


def rows_of(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def comparable(rows):
    return [(r["id"], r["error"], r.get("types"), r.get("scope"), r.get("summary_en"), r["input_sha256"]) for r in rows]


@pytest.mark.slow
def test_ray_engine_writes_what_the_local_engine_writes(tmp_path, local_cluster, analyzer):
    from cooplens.serve.ray_engine import run_ray

    expected = make_jsonl(tmp_path)
    rows = read_inputs(tmp_path / "rows.jsonl")
    local, distributed = tmp_path / "local.jsonl", tmp_path / "ray.jsonl"
    run_batch(analyzer, rows, local, progress=False)
    counts = run_ray(rows, distributed, model="cooplens-e5-head", summarizer="digest", batch_size=4, workers=1)
    assert counts["total"] == expected == len(rows_of(distributed))
    assert comparable(rows_of(distributed)) == comparable(rows_of(local))
    again = run_ray(read_inputs(tmp_path / "rows.jsonl"), distributed, model="cooplens-e5-head", summarizer="digest",
                    resume=True)
    assert again["skipped"] == expected and again["analysed"] == again["failed"] == 0
