"""Shared fixtures: the real packaged e5 encoder and one Analyzer for the whole session (loading is the
slow part; every test that needs the model uses these)."""
from importlib import resources
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = Path(str(resources.files("cooplens.data") / "examples"))


@pytest.fixture(scope="session")
def e5_path() -> str:
    from cooplens.models.fetch import resolve_base_model

    return resolve_base_model("e5-small")


@pytest.fixture(scope="session")
def analyzer(e5_path):
    from cooplens.models.analyzer import Analyzer

    return Analyzer.from_pretrained()


@pytest.fixture(scope="session")
def seeds() -> dict:
    return {p.name[:3]: p.read_text(encoding="utf-8") for p in sorted(EXAMPLES.glob("*.txt"))}


@pytest.fixture(scope="session")
def tiny_corpus(tmp_path_factory) -> Path:
    """A small real slice of the project corpus (every split, both classes) for fast training runs."""
    import json

    rows = [json.loads(line) for line in (REPO / "data" / "corpus" / "corpus.jsonl").read_text(encoding="utf-8").splitlines()]
    picked = []
    for split, n in (("train", 24), ("dev", 10), ("test", 10)):
        part = [r for r in rows if r["split"] == split]
        picked += [r for r in part if r["is_cooperation"]][: n // 2] + [r for r in part if not r["is_cooperation"]][: n // 2]
    path = tmp_path_factory.mktemp("corpus") / "tiny.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in picked), encoding="utf-8")
    return path
