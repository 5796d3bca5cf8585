"""An adversarial input corpus for the batch CLI: every case a hostile or broken file has shown (issue #8), written
into a folder by `make_hostile_inputs(root)`, as a folder of .txt files, a JSONL and a CSV. Each maker returns the
number of rows the output must have."""
import json
import os
from pathlib import Path

PERSIAN = ("وزارت بهداشت ایران و سازمان جهانی بهداشت روز دوشنبه در تهران تفاهم‌نامه همکاری امضا کردند. "
           "بر اساس این تفاهم‌نامه ۲۰۰ پرستار آموزش می‌بینند.")
ENGLISH = "The health ministries of Bangladesh and India signed a memorandum in Dhaka to train 200 nurses."
INJECTION = '<svg onload=alert(1)> &lt;img src=x onerror=alert(2)&gt; <script>alert(3)</script> [x](javascript:alert(4))'


def make_folder(root: Path) -> int:
    folder = root / "folder"
    folder.mkdir()
    (folder / "normal.txt").write_text(PERSIAN, encoding="utf-8")
    (folder / "a.txt").write_text(ENGLISH, encoding="utf-8")
    (folder / "a.TXT").write_text("Japan donated 3 ambulances to the city of Dhaka on Sunday.", encoding="utf-8")
    os.symlink("loop.txt", folder / "loop.txt")                 # a link to itself
    os.symlink("missing.txt", folder / "broken.txt")            # a link to nothing
    (folder / "dir.txt").mkdir()                                # a folder with a .txt name
    (folder / "empty.txt").write_bytes(b"")
    (folder / "binary.txt").write_bytes(bytes(range(256)) * 40)
    (folder / "latin1.txt").write_bytes("Café santé coopération".encode("latin-1"))
    (folder / "bom.txt").write_bytes("\ufeff".encode() + ENGLISH.encode())
    (folder / "zero-width.txt").write_text("\u200b".join(PERSIAN[:30]) + "\u200d" + PERSIAN[30:], encoding="utf-8")
    (folder / "injection.txt").write_text(INJECTION + " " + ENGLISH, encoding="utf-8")
    (folder / "huge.txt").write_text(ENGLISH + " " + ("Officials met again. " * 120_000), encoding="utf-8")
    (folder / "nested").mkdir()
    (folder / "nested" / "inner.txt").write_text(ENGLISH, encoding="utf-8")
    return 13


def make_jsonl(root: Path) -> int:
    lines = [
        json.dumps({"id": "good", "text": ENGLISH}),
        '{"id": "surrogate-text", "text": "WHO sent vaccines to Dhaka \\ud800 on Monday."}',
        '{"id": "x\\udc80y", "text": "Iran and Iraq held talks on pilgrims\' health care in Baghdad."}',
        json.dumps({"id": "title-number", "title": 5, "text": ENGLISH}),
        json.dumps({"id": "title-object", "title": {"x": 1}, "text": ENGLISH}),
        json.dumps({"id": "dup", "text": ENGLISH}),
        json.dumps({"id": "dup", "text": PERSIAN}),
        json.dumps({"id": "dup#2", "text": "Japan donated 3 ambulances to Dhaka."}),
        json.dumps({"id": "line-sep", "text": "The two cities\u2028signed an agreement\u2029on health."}, ensure_ascii=False),
        "this is not json",
        "[1, 2, 3]",
        json.dumps({"id": "no-text", "body": "x"}),
        json.dumps({"id": "text-number", "text": 42}),
        json.dumps({"id": None, "text": "Russia sent a field hospital to Syria."}),
        json.dumps({"id": {"nested": 1}, "text": "Turkey sent aid to Pakistan after the floods."}),
        json.dumps({"id": "injection", "text": INJECTION + " " + ENGLISH}),
        "",
    ]
    (root / "rows.jsonl").write_bytes("\ufeff".encode() + "\n".join(lines).encode("utf-8", "surrogatepass"))
    return 16


def make_csv(root: Path) -> int:
    text = ("\ufeffid,text,title\n"
            f"c1,{ENGLISH},Nurses\n"
            'c2,"A quoted, multi-line\ntext about Iran and Iraq signing an MoU.",\n'
            "c1,Duplicate id row about Japan donating ambulances.,\n"
            'c3,"stray opening quote about WHO vaccines,\n'
            "c4,Short row\n"
            "c5,Russia and Belarus held a joint medical exercise near Minsk.,Drill\n")
    (root / "rows.csv").write_bytes(text.encode("utf-8") + b"c6,caf\xe9 \xff health,\n")
    return 7


def make_hostile_inputs(root: Path) -> dict:
    """{name: (path, expected rows)} for the folder, the JSONL and the CSV."""
    root.mkdir(parents=True, exist_ok=True)
    return {"folder": (root / "folder", make_folder(root)), "jsonl": (root / "rows.jsonl", make_jsonl(root)),
            "csv": (root / "rows.csv", make_csv(root))}
