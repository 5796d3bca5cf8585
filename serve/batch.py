"""Batch inference over files: .txt files, a folder of them, .jsonl or .csv in; .jsonl (and .csv) out.

Every input row appears in the output: rows that cannot be read or analysed carry an `error` field.
The output is appended batch by batch, so an interrupted run loses at most one batch and `resume`
continues where it stopped (rows whose id is already in the output are skipped).
"""
import csv
import io
import json
import sys
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

SURROGATES = range(0xDC80, 0xDD00)   # what undecodable bytes become under errors="surrogateescape"
CSV_COLUMNS = ["id", "language", "is_cooperation", "cooperation_probability", "predicted_types", "primary_type",
               "scope", "summary_kind", "summary_en", "digest", "warnings", "error"]


class BatchInputError(ValueError):
    """The input file as a whole cannot be read (unknown format, missing column). Says what to do."""


@dataclass
class InputRow:
    id: str
    text: str | None
    title: str | None = None
    error: str | None = None     # set when the row itself is unreadable


def has_invalid_utf8(text: str) -> bool:
    return any(ord(ch) in SURROGATES for ch in text)


def read_text_file(path: Path) -> str:
    return path.read_bytes().decode("utf-8", errors="surrogateescape")


def row_from_text(item_id: str, text: str, title: str | None = None) -> InputRow:
    if has_invalid_utf8(text) or (title and has_invalid_utf8(title)):
        return InputRow(item_id, None, error="invalid UTF-8 bytes in this row: re-save the file as UTF-8")
    return InputRow(item_id, text, title)


def read_jsonl(path: Path, text_column: str, id_column: str) -> list:
    rows = []
    for n, line in enumerate(read_text_file(path).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as err:
            rows.append(InputRow(f"line-{n}", None, error=f"line {n} is not valid JSON: {err.msg}"))
            continue
        if not isinstance(obj, dict) or not isinstance(obj.get(text_column), str):
            rows.append(InputRow(str(obj.get(id_column, f"line-{n}")) if isinstance(obj, dict) else f"line-{n}", None,
                                 error=f"line {n} has no string field {text_column!r}"))
            continue
        rows.append(row_from_text(str(obj.get(id_column, f"line-{n}")), obj[text_column], obj.get("title")))
    return rows


def read_csv(path: Path, text_column: str, id_column: str) -> list:
    csv.field_size_limit(sys.maxsize)
    reader = csv.DictReader(io.StringIO(read_text_file(path), newline=""))
    columns = reader.fieldnames or []
    if text_column not in columns:
        raise BatchInputError(f"{path}: no column {text_column!r} (columns: {', '.join(columns) or 'none'}); "
                              f"choose one with --text-column")
    rows = []
    for n, record in enumerate(reader, start=2):   # line 1 is the header
        text = record.get(text_column)
        item_id = str(record.get(id_column) or f"row-{n}")
        if text is None:
            rows.append(InputRow(item_id, None, error=f"row {n} is shorter than the header"))
        else:
            rows.append(row_from_text(item_id, text, record.get("title")))
    return rows


def read_inputs(path: str | Path, text_column: str = "text", id_column: str = "id") -> list:
    path = Path(path)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix.lower() == ".txt")
        if not files:
            raise BatchInputError(f"{path}: no .txt files in this folder")
        return [row_from_text(p.stem, read_text_file(p)) for p in files]
    if not path.exists():
        raise BatchInputError(f"{path}: no such file or folder")
    suffix = path.suffix.lower()
    if suffix == ".txt":
        return [row_from_text(path.stem, read_text_file(path))]
    if suffix in (".jsonl", ".ndjson"):
        rows = read_jsonl(path, text_column, id_column)
    elif suffix == ".csv":
        rows = read_csv(path, text_column, id_column)
    else:
        raise BatchInputError(f"{path}: unsupported input type {suffix!r}; use .txt, a folder, .jsonl or .csv")
    return unique_ids(rows)


def unique_ids(rows: list) -> list:
    """Duplicate ids would make resume skip the wrong rows: the second 'a' becomes 'a#2'."""
    seen = {}
    for row in rows:
        seen[row.id] = seen.get(row.id, 0) + 1
        if seen[row.id] > 1:
            row.id = f"{row.id}#{seen[row.id]}"
    return rows


def done_ids(output: Path) -> set:
    if not output.exists():
        return set()
    ids = set()
    for line in output.read_text(encoding="utf-8").splitlines():
        try:
            ids.add(json.loads(line)["id"])
        except (json.JSONDecodeError, KeyError, TypeError):
            continue      # a half-written last line from an interrupted run: that row is redone
    return ids


def csv_row(result: dict) -> dict:
    row = {k: result.get(k) for k in CSV_COLUMNS}
    row["predicted_types"] = ";".join(result.get("predicted_types") or [])
    row["warnings"] = " | ".join(result.get("warnings") or [])
    return row


def write_csv(jsonl_path: Path, csv_path: Path) -> None:
    with open(csv_path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        for line in jsonl_path.read_text(encoding="utf-8").splitlines():
            writer.writerow(csv_row(json.loads(line)))


def run_batch(analyzer, rows: list, output: Path, resume: bool = False, batch_size: int = 16,
              progress: bool = True) -> dict:
    """Analyse rows into output (.jsonl). Returns counts: total, skipped, analysed, failed."""
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    skip = done_ids(output) if resume else set()
    todo = [r for r in rows if r.id not in skip]
    counts = {"total": len(rows), "skipped": len(rows) - len(todo), "analysed": 0, "failed": 0}
    with open(output, "a" if resume else "w", encoding="utf-8") as out, \
            tqdm(total=len(todo), unit="article", disable=not progress, desc="cooplens") as bar:
        for start in range(0, len(todo), batch_size):
            chunk = todo[start:start + batch_size]
            readable = [r for r in chunk if r.error is None]
            results = {r.id: res.to_dict() for r, res in zip(readable, analyzer.analyze(
                [{"title": r.title, "text": r.text} for r in readable], ids=[r.id for r in readable]))}
            for row in chunk:
                record = results.get(row.id) or {"id": row.id, "error": row.error}
                counts["failed" if record.get("error") else "analysed"] += 1
                out.write(json.dumps(record, ensure_ascii=False) + "\n")
            out.flush()
            bar.update(len(chunk))
    return counts
