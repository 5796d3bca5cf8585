"""`cooplens eval` on a small labelled file: an HTML report and a JSON of every number."""
import json

import pytest

from cooplens.eval import compare
from cooplens.eval.metrics import auroc, reliability, rouge_l, rouge_n
from cooplens.serve.cli import main
from conftest import EXAMPLES


def test_report_on_a_small_file(tmp_path, tiny_corpus, analyzer):
    out = tmp_path / "report"
    assert main(["eval", "--data", str(tiny_corpus), "--split", "test", "--out", str(out)]) == 0
    metrics = json.loads((out / "metrics.json").read_text())["default"]
    assert metrics["summary"]["articles"] == 10
    assert 0 <= metrics["summary"]["micro_f1"] <= 1 and metrics["summary"]["cooperation_auroc"] is not None
    assert set(metrics["per_type"]) == set(analyzer.taxonomy.types)
    for variant in ("shipped", "digest", "key_sentences"):
        block = metrics["summaries"][variant]
        assert block["overall"]["chrf_pp"] > 0 and 0 <= block["overall"]["rouge_2"] <= 100
        assert 0 <= block["faithfulness_rate"] <= 1
    assert 0 <= metrics["summaries"]["shipped"]["reference_free"]["english_share"] <= 1
    html = (out / "report.html").read_text()
    assert html.count("<img") == 3 and "Worst examples" in html and "Macro-F1 per language" in html
    assert "key_sentences" in html and "LaSE" in html
    predictions = out / "predictions_default.jsonl"
    rows = [json.loads(line) for line in predictions.read_text().splitlines()]
    assert len(rows) == 10 and {"gold_types", "types", "cooperation_probability"} <= set(rows[0])
    assert all(r["summary_en"] and r["summary_kind"] in ("digest", "generated", "abstained") for r in rows)
    assert compare.main(["--base", str(predictions), "--candidate", str(predictions), "--resamples", "50",
                         "--out", str(tmp_path / "same.json")]) == 0
    same = json.loads((tmp_path / "same.json").read_text())
    assert same["answers_changed"] == {"is_cooperation": 0, "type_set": 0}
    assert same["micro_f1"]["difference"] == 0 and same["micro_f1"]["interval_95"] == [0, 0]


def test_paired_bootstrap_sees_a_consistent_gain_and_pairs_articles_by_id():
    def row(i, gold, predicted):
        return {"id": str(i), "gold_is_cooperation": bool(gold), "is_cooperation": bool(predicted),
                "gold_types": gold, "types": predicted, "type_probabilities": {"aid_donation": 0.5, "joint_meeting": 0.5}}
    gold = [["aid_donation"] if i % 2 else [] for i in range(40)]
    base = [row(i, g, [] if i % 4 == 1 else g) for i, g in enumerate(gold)]        # misses every second positive
    better = [row(i, g, g) for i, g in enumerate(gold)]
    result = compare.paired_bootstrap(base, better, resamples=200)
    assert result["answers_changed"]["is_cooperation"] == 10
    assert result["micro_f1"]["difference"] > 0.3 and result["micro_f1"]["interval_95"][0] > 0
    assert result["micro_f1"]["share_worse"] == 0 and result["cooperation_f1"]["candidate"] == 1.0


def test_metric_helpers_on_known_values():
    import numpy as np

    assert auroc(np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8])) == 0.75
    assert reliability(np.array([0.9, 0.9, 0.1, 0.1]), np.array([1, 1, 0, 0]))["ece"] == 0.1
    assert rouge_l("the cat sat", "the cat sat") == 1.0 and rouge_l("a b", "c d") == 0.0
    assert rouge_n("The cat sat on the mat.", "the cat sat on a mat", 2) == 0.6     # 3 of 5 bigrams both ways



@pytest.mark.slow
def test_bench_compares_engines_on_short_and_full_length_articles(tmp_path, analyzer):
    """`cooplens bench` in one run: each engine in its own process, the first the reference; speed on the dev
    articles, and single-article latency on the five full-length samples as well (the dev items are mostly leads)."""
    out = tmp_path / "bench.json"
    assert main(["bench", "--model", "cooplens-e5-head", "--summarizer", "digest", "--engines", "hf-fp32",
                 "hf-bf16-encoder", "--articles", "3", "--singles", "1", "--out", str(out)]) == 0
    reference, other = json.loads(out.read_text())["runs"]
    assert [reference["engine"], other["engine"]] == ["hf-fp32", "hf-bf16-encoder"]
    assert reference["speed_vs_reference"] == 1 and reference["label_flips"] == 0 and 0 <= other["label_flips"] <= 1
    samples = [len(path.read_text(encoding="utf-8")) for path in sorted(EXAMPLES.glob("*.txt"))]
    for run in (reference, other):
        assert run["articles"] == 3 and run["articles_per_second"] > 0 and run["peak_rss_mib"] > 100
        assert [a["characters"] for a in run["full_articles"]] == samples
        assert all(0 < a["first_stage_seconds"] <= a["seconds"] for a in run["full_articles"])
