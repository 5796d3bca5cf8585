"""Batch inference over files: .txt files, folders of them, .jsonl, .json, .csv, .tsv or .parquet in; .jsonl (and .csv)
out.

Guarantees (tests/test_hostile_inputs.py checks each):
- every input row appears in the output exactly once, with a unique id; a row that cannot be read or analysed has
  an `error` and the same fields as every other row; no row ever carries another row's result;
- a row is written with one append of one whole line, so a reader never sees half of one; a run killed mid-write
  leaves at most a torn last line, which `resume` cuts off;
- every row records `input_sha256`, the fingerprint of what was analysed: `resume` keeps a result only when its
  input is unchanged, re-analyses rows whose input changed, and drops (and reports) rows no longer in the input;
- the finished output is in input order; the input files are never written.
"""
import csv
import hashlib
import io
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from cooplens.models.actors import who_did_what
from cooplens.models.schema import AnalysisResult

SURROGATES = range(0xDC80, 0xDD00)   # what undecodable bytes become under errors="surrogateescape"
CSV_COLUMNS = ["id", "language", "is_cooperation", "cooperation_probability", "predicted_types", "primary_type",
               "scope", "actors", "summary_kind", "summary_en", "digest", "warnings", "error"]


# Where a file's text and title are, unless the user names the text column: the first of these that the file has
# (news exports name the article body "content" or "body" as often as "text")
TEXT_COLUMNS = ("text", "content", "body", "article", "article_text", "full_text", "story")
TITLE_COLUMNS = ("title", "headline")
CSV_DELIMITERS = ",;\t|"


class BatchInputError(ValueError):
    """The input as a whole cannot be used (unknown format, missing column, no such file). Says what to do."""


@dataclass
class InputRow:
    id: str
    text: str | None
    title: str | None = None
    error: str | None = None     # set when the row itself is unreadable

    @property
    def fingerprint(self) -> str:
        """sha256 of what this row asks to analyse (or of why it could not be read)."""
        payload = json.dumps([self.title, self.text, self.error], ensure_ascii=True)
        return hashlib.sha256(payload.encode()).hexdigest()[:16]


def printable(text: str) -> str:
    """A string that can be written as UTF-8: lone surrogates (from bad bytes or "\\udc80" escapes) spelled out."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def has_invalid_utf8(text: str) -> bool:
    return any(ord(ch) in SURROGATES for ch in text)


def decoded(path: Path) -> str:
    """A file's text: UTF-8, a leading byte-order mark dropped, undecodable bytes kept as surrogates (found later)."""
    text = path.read_bytes().decode("utf-8", errors="surrogateescape")
    return text[1:] if text.startswith("\ufeff") else text


def row_from_text(item_id: str, text, title=None) -> InputRow:
    item_id = printable(str(item_id))
    if isinstance(title, (int, float)) and not isinstance(title, bool):
        title = str(title)
    if not isinstance(text, str):
        return InputRow(item_id, None, error="the text is not a string")
    if title is not None and not isinstance(title, str):
        return InputRow(item_id, None, error=f"the title is not a string (got {type(title).__name__})")
    if has_invalid_utf8(text) or (title and has_invalid_utf8(title)):
        return InputRow(item_id, None, error="invalid UTF-8 bytes in this row: re-save the file as UTF-8")
    return InputRow(item_id, text, title)


def first_of(names, columns) -> str | None:
    return next((name for name in names if name in columns), None)


def text_column_of(path: Path, columns: list, text_column: str | None, notes: list) -> str:
    """The column the text is read from: the one named, else the first of TEXT_COLUMNS the file has (said in notes
    when it is not "text")."""
    column = text_column or first_of(TEXT_COLUMNS, columns)
    if column not in columns:
        wanted = repr(text_column) if text_column else f"for the text (looked for {', '.join(TEXT_COLUMNS)})"
        raise BatchInputError(f"{path}: no column {wanted} (columns: {', '.join(map(str, columns)) or 'none'}); "
                              f"choose one with --text-column")
    if column != "text" and not text_column:
        notes.append(f"{path.name}: reading the text from column {column!r}")
    return column


def row_from_object(obj, where: str, text_column: str | None, id_column: str) -> InputRow:
    """One JSON object (a JSONL line, an item of a JSON array) -> an input row; where: "line 3", "item 3"."""
    fallback_id = where.replace(" ", "-")
    if not isinstance(obj, dict):
        return InputRow(fallback_id, None, error=f"{where} is not a JSON object")
    item_id = obj.get(id_column)
    item_id = fallback_id if item_id is None or isinstance(item_id, (dict, list)) else item_id
    column = text_column or first_of(TEXT_COLUMNS, obj)
    if not isinstance(obj.get(column), str):
        wanted = repr(text_column) if text_column else f"for the text ({', '.join(TEXT_COLUMNS)})"
        return InputRow(printable(str(item_id)), None, error=f"{where} has no string field {wanted}")
    return row_from_text(item_id, obj[column], obj.get(first_of(TITLE_COLUMNS, obj)))


def read_jsonl(path: Path, text_column: str | None, id_column: str) -> list:
    rows = []
    # only "\n" ends a JSONL record: str.splitlines() would also split at U+2028 inside a JSON string
    for n, line in enumerate(decoded(path).split("\n"), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as err:
            rows.append(InputRow(f"line-{n}", None, error=f"line {n} is not valid JSON: {err.msg}"))
            continue
        rows.append(row_from_object(obj, f"line {n}", text_column, id_column))
    return rows


def read_json(path: Path, text_column: str | None, id_column: str) -> list:
    """A JSON array of article objects (what many scrapers and APIs export)."""
    try:
        items = json.loads(decoded(path))
    except json.JSONDecodeError as err:
        raise BatchInputError(f"{path}: not valid JSON ({err.msg}, line {err.lineno}); a file with one object per "
                              f"line is .jsonl") from None
    if not isinstance(items, list):
        raise BatchInputError(f"{path}: a .json input must be an array of article objects")
    return [row_from_object(obj, f"item {n}", text_column, id_column) for n, obj in enumerate(items, start=1)]


def csv_delimiter(text: str, suffix: str) -> str:
    """A .tsv is tab-separated; a .csv is separated by whichever of , ; tab | its header line has most (Excel in
    much of Europe writes ";"), a comma where it has none."""
    if suffix == ".tsv":
        return "\t"
    header = text.split("\n", 1)[0]
    return max(CSV_DELIMITERS, key=header.count)        # the first of equals: a comma on a tie, or where there is none


def csv_records(text: str, delimiter: str = ",") -> tuple[list, list]:
    """(header, [(line number, fields or None)]). A well-formed file is read by the csv module (quoted fields may
    span lines). A malformed one (a stray quote swallows the rows after it) is read record by record: a record
    ends at the first line where its quotes balance; a quote that never closes costs its own line only (None)."""
    try:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
        records = [(reader.line_num, fields) for fields in reader]
    except csv.Error:
        records, lines, i = [], text.split("\n"), 0
        while i < len(lines):
            j, quotes = i, lines[i].count('"')
            while quotes % 2 and j + 1 < len(lines):
                j += 1
                quotes += lines[j].count('"')
            if quotes % 2:
                records.append((i + 1, None))
                i += 1
                continue
            try:
                records.append((i + 1, next(csv.reader(io.StringIO("\n".join(lines[i:j + 1]), newline=""),
                                                       delimiter=delimiter, strict=True), [])))
            except csv.Error:
                records.append((i + 1, None))
            i = j + 1
    records = [(n, fields) for n, fields in records if fields != []]
    if not records or records[0][1] is None:
        raise BatchInputError("the first line is not a readable CSV header")
    return records[0][1], records[1:]


def read_csv(path: Path, text_column: str | None, id_column: str, notes: list) -> list:
    csv.field_size_limit(sys.maxsize)
    text = decoded(path)
    delimiter = csv_delimiter(text, path.suffix.lower())
    header, records = csv_records(text, delimiter)
    column = text_column_of(path, header, text_column, notes)
    title = first_of(TITLE_COLUMNS, header)
    rows = []
    for n, fields in records:
        if fields is None or len(fields) != len(header):
            found = "cannot be parsed (an unclosed quote?)" if fields is None else \
                f"has {len(fields)} fields, the header {len(header)}"
            rows.append(InputRow(f"line-{n}", None, error=f"CSV line {n} {found}"))
            continue
        record = dict(zip(header, fields))
        rows.append(row_from_text(record.get(id_column) or f"line-{n}", record[column], record.get(title)))
    return rows


def read_parquet(path: Path, text_column: str | None, id_column: str, notes: list) -> list:
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except Exception as err:           # pyarrow raises many types for a damaged file
        raise BatchInputError(f"{path}: not a readable Parquet file ({err})") from None
    column = text_column_of(path, table.column_names, text_column, notes)
    title = first_of(TITLE_COLUMNS, table.column_names)
    records = table.to_pylist()
    return [row_from_text(r.get(id_column) if r.get(id_column) is not None else f"row-{n}", r[column],
                          r.get(title)) for n, r in enumerate(records, start=1)]


def folder_files(folder: Path, recursive: bool) -> tuple[list, list]:
    """(.txt entries, subfolders not read). Broken links and link loops are entries too: they become error rows."""
    entries, skipped = [], []
    for path in sorted(folder.rglob("*") if recursive else folder.iterdir()):
        try:
            is_dir = path.is_dir() and not path.suffix.lower() == ".txt"
        except OSError:
            is_dir = False
        if is_dir:
            if not recursive and any(True for _ in path.glob("*.txt")):
                skipped.append(path)
        elif path.suffix.lower() == ".txt":
            entries.append(path)
    return entries, skipped


def read_text_file(path: Path, item_id: str) -> InputRow:
    try:
        if not path.is_file():
            raise IsADirectoryError("a folder, not a file") if path.is_dir() else FileNotFoundError("a broken link")
        return row_from_text(item_id, decoded(path))
    except OSError as err:
        return InputRow(printable(item_id), None, error=f"{path.name}: cannot be read ({err.strerror or err})")


def read_path(path: Path, text_column: str | None, id_column: str, recursive: bool, notes: list) -> list:
    if path.is_dir():
        files, skipped = folder_files(path, recursive)
        if skipped:
            notes.append(f"{path}: {len(skipped)} subfolder(s) with .txt files not read "
                         f"({', '.join(p.name for p in skipped[:5])}); add --recursive to read them")
        if not files:
            raise BatchInputError(f"{path}: no .txt files in this folder")
        return [read_text_file(p, str(p.relative_to(path).with_suffix(""))) for p in files]
    if not path.exists() and not path.is_symlink():
        raise BatchInputError(f"{path}: no such file or folder")
    suffix = path.suffix.lower()
    if suffix == ".txt":
        return [read_text_file(path, path.stem)]
    if suffix in (".jsonl", ".ndjson"):
        return read_jsonl(path, text_column, id_column)
    if suffix == ".json":
        return read_json(path, text_column, id_column)
    if suffix in (".csv", ".tsv"):
        return read_csv(path, text_column, id_column, notes)
    if suffix == ".parquet":
        return read_parquet(path, text_column, id_column, notes)
    raise BatchInputError(f"{path}: unsupported input type {suffix!r}; use .txt, a folder, .jsonl, .json, .csv, "
                          f".tsv or .parquet")


def read_inputs(paths, text_column: str | None = None, id_column: str = "id", recursive: bool = False,
                notes: list | None = None) -> list:
    """Every row of every path, in order, with unique ids. text_column None: the first of TEXT_COLUMNS a file has.
    notes collects what a user should be told."""
    paths = [paths] if isinstance(paths, (str, Path)) else paths
    rows = []
    for path in paths:
        rows.extend(read_path(Path(path), text_column, id_column, recursive, notes if notes is not None else []))
    return unique_ids(rows)


def unique_ids(rows: list) -> list:
    """A repeated id gets the first free suffix (#2, #3, ...): ids stay unique even when 'dup#2' is taken."""
    taken = {row.id for row in rows}
    seen = set()
    for row in rows:
        if row.id in seen:
            k = 2
            while f"{row.id}#{k}" in taken:
                k += 1
            row.id = f"{row.id}#{k}"
            taken.add(row.id)
        seen.add(row.id)
    return rows


def previous_results(output: Path) -> dict:
    """id -> the output line (bytes) of an earlier run. A torn last line (a run killed mid-write) is cut off the
    file; undecodable or malformed lines are dropped, so their rows are analysed again."""
    if not output.exists():
        return {}
    data = output.read_bytes()
    if data and not data.endswith(b"\n"):
        data = data[:data.rfind(b"\n") + 1]
        with open(output, "r+b") as fh:
            fh.truncate(len(data))
    done = {}
    for line in data.split(b"\n"):
        try:
            record = json.loads(line.decode("utf-8"))
            done[record["id"]] = (record.get("input_sha256"), line + b"\n")
        except (UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError):
            continue
    return done


def write_atomically(path: Path, lines: list) -> None:
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_bytes(b"".join(lines))
    os.replace(temporary, path)


def record_line(result: AnalysisResult, row: InputRow) -> bytes:
    record = {**result.to_dict(), "input_sha256": row.fingerprint}
    # U+2028/U+2029 are legal inside JSON strings but end a line for many readers (Python's splitlines too)
    line = json.dumps(record, ensure_ascii=False).replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return (line + "\n").encode("utf-8", "backslashreplace")


def analyse_rows(analyzer, chunk: list) -> list:
    """(output line, failed) per row of the chunk, in order: the Analyzer's result, or the row's own read error.
    Results come back in input order and are matched by position, never by id."""
    readable = [row for row in chunk if row.error is None]
    analysed = iter(analyzer.analyze([{"title": r.title, "text": r.text} for r in readable], ids=[r.id for r in readable]))
    results = [next(analysed) if row.error is None else AnalysisResult.failed(row.id, row.error, analyzer.model_info)
               for row in chunk]
    return [(record_line(result, row), result.error is not None) for row, result in zip(chunk, results)]


class OutputFile:
    """The .jsonl of a batch job, whatever engine fills it: what an earlier run left that still holds (resume),
    one whole line per append, and at the end the rows rewritten in input order."""

    def __init__(self, output: Path, rows: list, resume: bool):
        self.path, self.rows = Path(output), rows
        self.path.parent.mkdir(parents=True, exist_ok=True)
        earlier = previous_results(self.path) if resume else {}
        ids = {row.id for row in rows}
        self.lines = {row.id: earlier[row.id][1] for row in rows
                      if row.id in earlier and earlier[row.id][0] == row.fingerprint}
        self.counts = {"total": len(rows), "skipped": len(self.lines), "analysed": 0, "failed": 0,
                       "changed": sum(row.id in earlier and row.id not in self.lines for row in rows),
                       "dropped": sum(i not in ids for i in earlier)}
        self.todo = [row for row in rows if row.id not in self.lines]
        write_atomically(self.path, list(self.lines.values()))   # what stays valid, before anything is appended
        self.fd = os.open(self.path, os.O_WRONLY | os.O_APPEND)

    def write(self, row_id: str, line: bytes, failed: bool) -> None:
        self.counts["failed" if failed else "analysed"] += 1
        self.lines[row_id] = line
        os.write(self.fd, line)                                  # one whole line per write

    def flush(self) -> None:
        os.fsync(self.fd)

    def close(self) -> dict:
        """Rows in input order; after an interruption only those done so far (--resume analyses the rest)."""
        os.close(self.fd)
        write_atomically(self.path, [self.lines[row.id] for row in self.rows if row.id in self.lines])
        return self.counts


def run_batch(analyzer, rows: list, output: Path, resume: bool = False, batch_size: int = 16,
              progress: bool = True) -> dict:
    """Analyse rows into output (.jsonl) in this process. Returns counts: total, skipped, analysed, failed, and
    with resume changed (re-analysed because the input changed) and dropped (earlier rows no longer in the input)."""
    out = OutputFile(output, rows, resume)
    try:
        with tqdm(total=len(out.todo), unit="article", disable=not progress, desc="cooplens") as bar:
            for start in range(0, len(out.todo), batch_size):
                chunk = out.todo[start:start + batch_size]
                for row, (line, failed) in zip(chunk, analyse_rows(analyzer, chunk)):
                    out.write(row.id, line, failed)
                out.flush()
                bar.update(len(chunk))
    finally:
        counts = out.close()
    return counts


def csv_row(result: dict) -> dict:
    row = {k: result.get(k) for k in CSV_COLUMNS}
    row["predicted_types"] = ";".join(result.get("predicted_types") or [])
    row["warnings"] = " | ".join(result.get("warnings") or [])
    row["actors"] = who_did_what(result.get("actors") or [])       # "from X to Y; signed by …"
    return row


def write_csv(jsonl_path: Path, csv_path: Path) -> None:
    with open(csv_path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        for line in jsonl_path.read_text(encoding="utf-8").split("\n"):
            if line.strip():
                writer.writerow(csv_row(json.loads(line)))
