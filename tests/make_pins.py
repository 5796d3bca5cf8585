"""Write tests/data/shipped_pins.json: each shipped model's answers on the five samples (digest summary), for each
encoder dtype it runs in (a folder with dtype "auto" runs bfloat16 on a CPU with AMX / AVX512-BF16, float32
elsewhere: both are pinned, so run this on such a CPU). Run it only after changing a shipped model on purpose:
python tests/make_pins.py"""
import json
from pathlib import Path

from cooplens.models.analyzer import Analyzer, model_folder
from cooplens.models.config import PipelineConfig
from cooplens.models.runtime import cpu_supports_bf16

HERE = Path(__file__).resolve().parent
EXAMPLES = HERE.parent / "data" / "examples"

MODELS = ("cooplens-gemma-head", "cooplens-e5-head")


def dtypes(name: str) -> list:
    setting = PipelineConfig.load(model_folder(name)).classifier.dtype
    if setting != "auto":
        return [setting]
    assert cpu_supports_bf16(), "pin an 'auto' model on a CPU with AMX / AVX512-BF16, so both dtypes are pinned"
    return ["float32", "bfloat16"]


if __name__ == "__main__":
    seeds = {p.name[:3]: p.read_text(encoding="utf-8") for p in sorted(EXAMPLES.glob("*.txt"))}
    pins = {}
    for name in MODELS:
        for dtype in dtypes(name):
            analyzer = Analyzer.from_pretrained(name, summarizer="digest", settings={"classifier.dtype": dtype})
            results = analyzer.analyze(list(seeds.values()), ids=list(seeds))
            pins.setdefault(name, {"version": analyzer.model_info["version"], "results": {}})["results"][dtype] = {
                r.id: {"is_cooperation": r.is_cooperation, "predicted_types": r.predicted_types, "scope": r.scope,
                       "cooperation_probability": r.cooperation_probability,
                       "types": {t.name: t.probability for t in r.types}} for r in results}
            print(name, dtype, json.dumps({r.id: (r.predicted_types, r.scope) for r in results}))
    (HERE / "data" / "shipped_pins.json").write_text(json.dumps(pins, indent=2) + "\n", encoding="utf-8")
