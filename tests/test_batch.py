"""The batch CLI on real files, as a user runs it: every row comes out, bad rows with an error."""
import csv
import json

from cooplens.serve.batch import read_inputs, run_batch
from cooplens.serve.cli import main
from conftest import EXAMPLES


def results(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_predict_on_the_sample_folder_writes_jsonl_and_csv(tmp_path, analyzer):
    out = tmp_path / "seeds.jsonl"
    rows = read_inputs(EXAMPLES)
    counts = run_batch(analyzer, rows, out, progress=False)
    assert counts == {"total": 5, "skipped": 0, "analysed": 5, "failed": 0}
    got = results(out)
    assert [r["id"] for r in got] == [p.stem for p in sorted(EXAMPLES.glob("*.txt"))]
    assert all(r["summary_en"] and r["language"] in ("fa", "bn") for r in got)


def test_every_row_of_a_messy_jsonl_is_in_the_output(tmp_path, analyzer):
    src = tmp_path / "in.jsonl"
    src.write_bytes(b'{"id": "ok", "text": "The WHO donated 20 ventilators to Dhaka Medical College Hospital."}\n'
                    b'{"id": "empty", "text": "   "}\n'
                    b'this is not json\n'
                    b'{"id": "notext", "body": "x"}\n'
                    b'{"id": "badutf8", "text": "caf\xe9 \xff\xfe health"}\n')
    out = tmp_path / "out.jsonl"
    counts = run_batch(analyzer, read_inputs(src), out, progress=False)
    got = {r["id"]: r for r in results(out)}
    assert counts["total"] == 5 == len(got)
    assert got["ok"]["error"] is None and got["ok"]["language"] == "en"
    assert "empty" in got["empty"]["error"]
    assert "not valid JSON" in got["line-3"]["error"]
    assert "no string field" in got["notext"]["error"]
    assert "UTF-8" in got["badutf8"]["error"]


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


def test_cli_reports_a_missing_csv_column_and_exits_non_zero(tmp_path, capsys):
    src = tmp_path / "in.csv"
    src.write_text("id,body\n1,hello\n", encoding="utf-8")
    assert main(["predict", str(src), "-o", str(tmp_path / "o.jsonl")]) == 2
    assert "no column 'text'" in capsys.readouterr().err


def test_cli_predict_with_csv_output(tmp_path, analyzer):
    out = tmp_path / "one.jsonl"
    assert main(["predict", str(sorted(EXAMPLES.glob("003_*.txt"))[0]), "-o", str(out), "--csv"]) == 0
    rows = list(csv.DictReader(open(out.with_suffix(".csv"), encoding="utf-8")))
    assert len(rows) == 1 and rows[0]["language"] == "fa"
