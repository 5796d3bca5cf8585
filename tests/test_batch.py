"""The batch CLI on real files, as a user runs it: every row comes out, bad rows with an error."""
import csv
import json

import pytest

from cooplens.serve.batch import BatchInputError, read_inputs, run_batch
from cooplens.serve.cli import main
from conftest import EXAMPLES


def results(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_predict_on_the_sample_folder_writes_jsonl(tmp_path, analyzer):
    out = tmp_path / "seeds.jsonl"
    counts = run_batch(analyzer, read_inputs(EXAMPLES), out, progress=False)
    assert counts == {"total": 5, "skipped": 0, "analysed": 5, "failed": 0, "changed": 0, "dropped": 0}
    got = results(out)
    assert [r["id"] for r in got] == [p.stem for p in sorted(EXAMPLES.glob("*.txt"))]
    assert all(r["summary_en"] and r["language"] in ("fa", "bn") for r in got)


def test_resume_skips_rows_already_done(tmp_path, analyzer):
    src = tmp_path / "in.csv"
    with open(src, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["id", "text"])
        writer.writerow(["a", "Bangladesh and India agreed to train 200 nurses in Kolkata."])
        writer.writerow(["b", "Tehran and Baghdad signed a health agreement for pilgrims."])
    out = tmp_path / "out.jsonl"
    run_batch(analyzer, read_inputs(src)[:1], out, progress=False)            # interrupted after row a
    counts = run_batch(analyzer, read_inputs(src), out, resume=True, progress=False)
    assert counts["skipped"] == 1 and counts["analysed"] == 1
    assert [r["id"] for r in results(out)] == ["a", "b"]


def test_cli_reports_a_missing_csv_column_and_exits_with_the_usage_code(tmp_path, capsys):
    src = tmp_path / "in.csv"
    src.write_text("id,words\n1,hello\n", encoding="utf-8")
    assert main(["predict", str(src), "-o", str(tmp_path / "o.jsonl")]) == 2
    assert "no column for the text (looked for text, content, body" in capsys.readouterr().err
    assert main(["predict", str(src), "--text-column", "body", "-o", str(tmp_path / "o.jsonl")]) == 2
    assert "no column 'body'" in capsys.readouterr().err


def test_news_exports_are_read_whatever_their_separator_format_and_text_column(tmp_path):
    """What scrapers and spreadsheets write: a body column named "content", a headline, ";" from a European Excel,
    tab-separated, a JSON array; every file gives the same rows, and the user is told which column was read."""
    articles = [("a1", "Iran and Iraq sign a health MoU", "Tehran; the two ministers signed it, with \"five\" annexes."),
                ("a2", "Aid reaches Isfahan", "76 cartons arrived\nfrom Xi'an and Guangzhou.")]
    expected = [(i, text, title) for i, title, text in articles]
    for name, delimiter in (("comma.csv", ","), ("semicolon.csv", ";"), ("pipe.csv", "|"), ("tabs.tsv", "\t")):
        with open(tmp_path / name, "w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh, delimiter=delimiter)
            writer.writerow(["id", "headline", "content"])
            writer.writerows(articles)
    (tmp_path / "array.json").write_text(json.dumps(
        [{"id": i, "title": title, "body": text} for i, title, text in articles]), encoding="utf-8")
    for name in ("comma.csv", "semicolon.csv", "pipe.csv", "tabs.tsv", "array.json"):
        notes = []
        rows = read_inputs(tmp_path / name, notes=notes)
        assert [(r.id, r.text, r.title) for r in rows] == expected, name
        assert notes == [f"{name}: reading the text from column 'content'"] if name != "array.json" else notes == []
    (tmp_path / "object.json").write_text('{"articles": []}', encoding="utf-8")
    with pytest.raises(BatchInputError, match="must be an array"):
        read_inputs(tmp_path / "object.json")
    (tmp_path / "broken.json").write_text('[{"text": "a"}', encoding="utf-8")
    with pytest.raises(BatchInputError, match="not valid JSON"):
        read_inputs(tmp_path / "broken.json")
    (tmp_path / "mixed.json").write_text('[{"text": "Aid arrived."}, 3, {"body": 5}]', encoding="utf-8")
    assert [(r.id, r.error) for r in read_inputs(tmp_path / "mixed.json")] == [
        ("item-1", None), ("item-2", "item 2 is not a JSON object"),
        ("item-3", "item 3 has no string field for the text (text, content, body, article, article_text, full_text, "
                   "story)")]


def test_cli_predict_with_csv_output(tmp_path, analyzer, monkeypatch):
    from cooplens.models.analyzer import Analyzer

    monkeypatch.setattr(Analyzer, "from_pretrained", classmethod(lambda cls, *a, **k: analyzer))
    out = tmp_path / "one.jsonl"
    assert main(["predict", str(sorted(EXAMPLES.glob("003_*.txt"))[0]), "-o", str(out), "--csv"]) == 0
    rows = list(csv.DictReader(open(out.with_suffix(".csv"), encoding="utf-8")))
    assert len(rows) == 1 and rows[0]["language"] == "fa"


def test_help_does_not_import_torch():
    import subprocess
    import sys

    code = "import sys; from cooplens.serve.cli import build_parser; build_parser(); print('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "False"


def test_fetch_models_prepares_a_model_and_refuses_an_unknown_name(capsys):
    from cooplens.models.fetch import cache_dir

    assert main(["fetch-models", "cooplens-e5-head"]) == 0
    assert ("cooplens-e5-head: ready (e5-small, gemma3-270m; encoder in float32; generator engine ctranslate2)"
            in capsys.readouterr().out)
    assert list((cache_dir() / "ctranslate2").glob("*/cooplens-ct2.json"))    # converted ahead of first use
    assert main(["fetch-models", "no-such-model"]) == 2
    assert "neither a registry name" in capsys.readouterr().err
