"""The batch CLI against hostile and broken inputs (tests/hostile_inputs.py) and interrupted runs: every row in
comes out once, with a unique id and a result or a clear error; input files are never written; exit codes say
what happened; --resume survives a torn write and a changed input."""
import hashlib
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from cooplens.models.analyzer import Analyzer
from cooplens.serve.cli import EXIT_ALL_FAILED, EXIT_OK, EXIT_SOME_FAILED, EXIT_USAGE, main
from hostile_inputs import ENGLISH, make_hostile_inputs


@pytest.fixture
def shared_model(monkeypatch, analyzer):
    """The CLI loads a model per call; hand it the session's (real, already loaded) one."""
    monkeypatch.setattr(Analyzer, "from_pretrained", classmethod(lambda cls, *a, **k: analyzer))


def rows_of(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]   # no raw U+2028 inside


def tree_digest(path):
    files = sorted(p for p in path.rglob("*") if p.is_file() and not p.is_symlink()) if path.is_dir() else [path]
    return hashlib.sha256(b"".join(p.read_bytes() for p in files)).hexdigest()


@pytest.mark.parametrize("kind", ["folder", "jsonl", "csv"])
def test_every_hostile_row_comes_out_once_with_a_result_or_an_error(tmp_path, shared_model, capsys, kind):
    path, expected = make_hostile_inputs(tmp_path / "in")[kind]
    before = tree_digest(path)
    out = tmp_path / "out.jsonl"
    code = main(["predict", str(path), "-o", str(out), "--csv"])
    rows = rows_of(out)
    assert len(rows) == expected, [r["id"] for r in rows]
    assert len({r["id"] for r in rows}) == expected                     # unique ids
    assert code == EXIT_SOME_FAILED                                     # some rows are broken on purpose
    assert tree_digest(path) == before                                  # the input is never written
    for row in rows:
        assert row["error"] or (row["language"] and len(row["types"]) == 8), row["id"]
        assert len(row["input_sha256"]) == 16
    assert set(rows[0]) == set(next(r for r in rows if r["error"]))     # one schema for every row
    assert len(out.with_suffix(".csv").read_text(encoding="utf-8").splitlines()) >= expected + 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    if kind == "folder":
        assert "--recursive" in err                                     # the nested folder is mentioned
        by_id = {r["id"]: r for r in rows}
        assert by_id["a"]["digest"] != by_id["a#2"]["digest"]           # a.TXT and a.txt keep their own results
        assert "folder" in by_id["dir"]["error"] and by_id["loop"]["error"] and by_id["broken"]["error"]
        assert by_id["zero-width"]["language"] == "fa" and by_id["zero-width"]["is_cooperation"]
        assert any("long input" in w for w in by_id["huge"]["warnings"])
    if kind == "jsonl":
        by_id = {r["id"]: r for r in rows}
        assert {"dup", "dup#2", "dup#3"} <= set(by_id)
        assert by_id["dup"]["language"] == "en" and by_id["dup#3"]["language"] == "fa"   # its own text, not another's
        assert by_id["line-sep"]["error"] is None                        # U+2028 inside a string is not a line end
        assert by_id["surrogate-text"]["error"] is None and by_id["x\\udc80y"]["error"] is None
        assert by_id["title-number"]["error"] is None and "title" in by_id["title-object"]["error"]
        assert by_id["good"]["error"] is None                            # the BOM did not break the first row
    if kind == "csv":
        by_id = {r["id"]: r for r in rows}
        assert by_id["c1"]["error"] is None and by_id["c2"]["error"] is None and by_id["c5"]["error"] is None
        assert by_id["c1#2"]["error"] is None
        assert any("unclosed quote" in (r["error"] or "") for r in rows)  # the stray quote costs its own row only
        assert "UTF-8" in by_id["c6"]["error"]


def test_several_paths_are_read_as_users_type_them(tmp_path, shared_model):
    for name in ("one.txt", "two.txt"):
        (tmp_path / name).write_text(ENGLISH, encoding="utf-8")
    out = tmp_path / "out.jsonl"
    assert main(["predict", str(tmp_path / "one.txt"), str(tmp_path / "two.txt"), "-o", str(out)]) == EXIT_OK
    assert [r["id"] for r in rows_of(out)] == ["one", "two"]


def test_an_output_that_would_overwrite_the_input_is_refused(tmp_path, capsys):
    src = tmp_path / "news.csv"
    src.write_text(f"id,text\n1,{ENGLISH}\n", encoding="utf-8")
    before = src.read_bytes()
    assert main(["predict", str(src), "-o", str(tmp_path / "news.jsonl"), "--csv"]) == EXIT_USAGE
    assert src.read_bytes() == before and "overwrite" in capsys.readouterr().err


def test_a_file_where_nothing_can_be_analysed_exits_with_its_own_code(tmp_path, shared_model):
    src = tmp_path / "junk.jsonl"
    src.write_text('{"id": "a", "text": ""}\nnot json\n', encoding="utf-8")
    assert main(["predict", str(src), "-o", str(tmp_path / "o.jsonl")]) == EXIT_ALL_FAILED


def run_rows(n: int) -> list:
    places = ["Dhaka", "Tehran", "Kabul", "Baghdad", "Delhi", "Isfahan", "Kolkata", "Muscat"]
    return [{"id": f"r{i:03d}", "text": f"The health office of {places[i % 8]} sent {i + 2} doctors to "
                                       f"{places[(i + 3) % 8]} on day {i} to train nurses — এক দফা চুক্তি."}
            for i in range(n)]


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


@pytest.mark.parametrize("cut", ["ascii", "multibyte"])
def test_resume_cuts_a_torn_last_line_and_finishes_every_row(tmp_path, shared_model, cut):
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    write_jsonl(src, run_rows(6))
    assert main(["predict", str(src), "-o", str(out)]) == EXIT_OK
    full = rows_of(out)
    data = out.read_bytes()
    last = data.rstrip(b"\n").rfind(b"\n") + 1                 # the start of the last line
    if cut == "ascii":
        position = last + data[last:].index(b'"language"') + 5
    else:
        position = last + data[last:].index("এক".encode()) + 1  # inside a three-byte Bengali letter
    out.write_bytes(data[:position])
    assert main(["predict", str(src), "-o", str(out), "--resume", "--csv"]) == EXIT_OK
    again = rows_of(out)
    assert [r["id"] for r in again] == [r["id"] for r in full]
    assert [r["types"] for r in again] == [r["types"] for r in full]


def test_resume_reanalyses_changed_rows_and_drops_removed_ones(tmp_path, shared_model, capsys):
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    rows = run_rows(4)
    write_jsonl(src, rows)
    main(["predict", str(src), "-o", str(out)])
    first = {r["id"]: r for r in rows_of(out)}
    rows[1]["text"] = "Manchester United beat Chelsea 3-1 on Saturday in the Premier League."
    del rows[2]
    rows.append({"id": "new", "text": ENGLISH})
    write_jsonl(src, rows)
    assert main(["predict", str(src), "-o", str(out), "--resume"]) == EXIT_OK
    second = {r["id"]: r for r in rows_of(out)}
    assert list(second) == [r["id"] for r in rows]                       # input order, removed row gone
    assert second["r000"] == first["r000"]                               # unchanged: kept as it was
    assert second["r001"]["input_sha256"] != first["r001"]["input_sha256"]
    assert not second["r001"]["is_cooperation"]                          # analysed again
    err = capsys.readouterr().err
    assert "changed" in err and "no longer in the input" in err


@pytest.mark.slow
def test_killed_three_times_then_resumed_gives_every_id_once_and_the_same_answers(tmp_path):
    src, out, reference = tmp_path / "in.jsonl", tmp_path / "out.jsonl", tmp_path / "ref.jsonl"
    write_jsonl(src, run_rows(150))
    command = [sys.executable, "-m", "cooplens.serve.cli", "predict", str(src), "--summarizer", "digest",
               "--batch-size", "8"]
    subprocess.run(command + ["-o", str(reference)], check=True, capture_output=True)
    for kill_after in (20, 60, 110):
        process = subprocess.Popen(command + ["-o", str(out), "--resume"], stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        while process.poll() is None and (not out.exists() or out.read_bytes().count(b"\n") < kill_after):
            time.sleep(0.05)
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
    subprocess.run(command + ["-o", str(out), "--resume"], check=True, capture_output=True)
    got, want = rows_of(out), rows_of(reference)
    assert [r["id"] for r in got] == [r["id"] for r in want]
    assert [(r["types"], r["scope"], r["summary_en"]) for r in got] == [(r["types"], r["scope"], r["summary_en"])
                                                                       for r in want]
