"""Write tests/data/shipped_pins.json: each shipped model's answers on the five samples (digest summary).
Run it only after retraining a shipped model on purpose:  python tests/make_pins.py"""
import json
from pathlib import Path

from cooplens.models.analyzer import Analyzer

HERE = Path(__file__).resolve().parent
EXAMPLES = HERE.parent / "data" / "examples"

MODELS = ("cooplens-gemma-head", "cooplens-e5-head")

if __name__ == "__main__":
    seeds = {p.name[:3]: p.read_text(encoding="utf-8") for p in sorted(EXAMPLES.glob("*.txt"))}
    pins = {}
    for name in MODELS:
        analyzer = Analyzer.from_pretrained(name, summarizer="digest")
        results = analyzer.analyze(list(seeds.values()), ids=list(seeds))
        pins[name] = {"version": analyzer.model_info["version"],
                      "results": {r.id: {"is_cooperation": r.is_cooperation, "predicted_types": r.predicted_types,
                                         "scope": r.scope, "cooperation_probability": r.cooperation_probability,
                                         "types": {t.name: t.probability for t in r.types}} for r in results}}
        print(name, json.dumps({k: (v["predicted_types"], v["scope"]) for k, v in pins[name]["results"].items()}))
    (HERE / "data" / "shipped_pins.json").write_text(json.dumps(pins, indent=2) + "\n", encoding="utf-8")
