"""`cooplens eval` on a small labelled file: an HTML report and a JSON of every number."""
import json

from cooplens.eval.metrics import auroc, reliability, rouge_l, rouge_n
from cooplens.serve.cli import main


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


def test_metric_helpers_on_known_values():
    import numpy as np

    assert auroc(np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8])) == 0.75
    assert reliability(np.array([0.9, 0.9, 0.1, 0.1]), np.array([1, 1, 0, 0]))["ece"] == 0.1
    assert rouge_l("the cat sat", "the cat sat") == 1.0 and rouge_l("a b", "c d") == 0.0
    assert rouge_n("The cat sat on the mat.", "the cat sat on a mat", 2) == 0.6     # 3 of 5 bigrams both ways
