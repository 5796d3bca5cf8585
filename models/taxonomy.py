"""The label taxonomy, read from data/taxonomy.yaml (or the copy inside a trained model folder)."""
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import yaml


@dataclass(frozen=True)
class Taxonomy:
    name: str
    types: tuple            # type names, in file order
    scopes: tuple           # scope names
    definitions: dict       # name -> English definition (types and scopes)
    labels: dict            # type name -> short display label
    cues: dict              # type name (or "not_cooperation") -> list of cue phrases, all languages
    source: dict            # the raw YAML, to copy into a model folder

    def prototypes(self, name: str) -> list:
        """Texts that stand for a type in embedding space: its definition and its cue phrases."""
        return ([self.definitions[name]] if name in self.definitions else []) + self.cues.get(name, [])


def default_taxonomy_path() -> Path:
    return Path(str(resources.files("cooplens.data") / "taxonomy.yaml"))


def load_taxonomy(path: str | Path | None = None) -> Taxonomy:
    raw = yaml.safe_load(Path(path or default_taxonomy_path()).read_text(encoding="utf-8"))
    types = raw["types"]
    cues = {name: [c for phrases in spec.get("cues", {}).values() for c in phrases] for name, spec in types.items()}
    cues["not_cooperation"] = [c for phrases in raw.get("not_cooperation", {}).get("cues", {}).values() for c in phrases]
    definitions = {name: spec["definition"] for name, spec in types.items()}
    definitions.update({name: spec["definition"] for name, spec in raw["scopes"].items()})
    return Taxonomy(name=raw.get("name", "taxonomy"), types=tuple(types), scopes=tuple(raw["scopes"]),
                    definitions=definitions, labels={n: s.get("label", n) for n, s in types.items()},
                    cues=cues, source=raw)


def save_taxonomy(taxonomy: Taxonomy, folder: Path) -> None:
    (Path(folder) / "taxonomy.yaml").write_text(
        yaml.safe_dump(taxonomy.source, allow_unicode=True, sort_keys=False), encoding="utf-8")
