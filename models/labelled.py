"""The labelled-article format (one JSON object per line), read by training and evaluation alike:
`id, lang, title, text, types[], scope, is_cooperation, summary_en, source, split`.
`read_rows` checks every row against the taxonomy and names the file, line and reason of the first bad one."""
import hashlib
import json
from pathlib import Path

from cooplens.models.taxonomy import load_taxonomy

FIELDS = ("id", "lang", "title", "text", "types", "scope", "is_cooperation", "summary_en", "source", "split")
SPLITS = ("train", "dev", "test")


class CorpusError(ValueError):
    """A corpus row breaks the schema. The message names the file, line and reason."""


def validate_row(row, taxonomy, require_split: bool = True) -> list:
    """Reasons why this row is malformed ([] when it is fine)."""
    if not isinstance(row, dict):
        return ["not a JSON object"]
    problems = [f"missing field {f!r}" for f in FIELDS if f not in row]
    if problems:
        return problems
    if not isinstance(row["text"], str) or not row["text"].strip():
        problems.append("empty text")
    if not isinstance(row["types"], list) or any(t not in taxonomy.types for t in row["types"]):
        problems.append(f"types must be a list of {', '.join(taxonomy.types)}; got {row['types']!r}")
    if not isinstance(row["is_cooperation"], bool):
        problems.append("is_cooperation must be true or false")
    elif row["is_cooperation"]:
        if row["scope"] not in taxonomy.scopes:
            problems.append(f"scope must be one of {', '.join(taxonomy.scopes)} for a cooperation article")
        if not row["types"]:
            problems.append("a cooperation article needs at least one type")
    elif row["types"] or row["scope"] is not None:
        problems.append("a non-cooperation article has no types and scope null")
    if require_split and row["split"] not in SPLITS:
        problems.append(f"split must be one of {', '.join(SPLITS)}")
    return problems


def is_real_news(row: dict) -> bool:
    """Collected from a published page (its URL is the source), not written for the project."""
    return row["source"].startswith(("http://", "https://"))


GENERAL_NEWS_SOURCES = ("bbc-news-summary", "sib200", "hamshahri", "radiofarda")


def is_general_news(row: dict) -> bool:
    """A negative that is ordinary news (sport, politics, weather, a festival), not a near miss of cooperation."""
    return not row["is_cooperation"] and (row.get("kind") == "general_news"
                                          or row["source"].startswith(GENERAL_NEWS_SOURCES))


def read_rows(path: Path | str, taxonomy=None, require_split: bool = True) -> list:
    """Read and check a labelled JSONL; raises CorpusError on the first malformed line."""
    taxonomy = taxonomy or load_taxonomy()
    rows = []
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").split("\n"), start=1):   # not at U+2028
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as err:
            raise CorpusError(f"{path}:{n}: not valid JSON ({err.msg})") from None
        problems = validate_row(row, taxonomy, require_split)
        if problems:
            raise CorpusError(f"{path}:{n}: " + "; ".join(problems))
        rows.append(row)
    return rows


def data_hash(path: Path | str) -> str:
    """sha256[:16] of a data file, or of a folder's *.jsonl files in name order (what a model card records)."""
    path = Path(path)
    digest = hashlib.sha256()
    for part in sorted(path.glob("*.jsonl")) if path.is_dir() else [path]:
        digest.update(part.read_bytes())
    return digest.hexdigest()[:16]
