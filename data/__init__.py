"""The project's data, installed as a package: the taxonomy, gazetteer and cue words (YAML), the corpus, and the five
sample articles."""
from importlib import resources
from pathlib import Path

EXAMPLES = Path(str(resources.files(__name__) / "examples"))


def sample_articles() -> list:
    """The five sample articles (4 Persian, 1 Bengali), whole as published, in file-name order."""
    return [path.read_text(encoding="utf-8") for path in sorted(EXAMPLES.glob("*.txt"))]
