"""What every trainer shares: a recipe (a YAML file, overridden from the command line) and the seeds."""
import random
from pathlib import Path

import numpy as np
import yaml


def seed_everything(seed: int) -> None:
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def load_recipe(path: str | None, overrides: dict, assignments: list = ()) -> dict:
    """The YAML recipe at path (or a trained model folder's own `training.recipe`, or {}), then the named flags
    given, then `key=value` assignments (YAML values; dotted keys reach into nested settings: lora.r=8)."""
    if path and Path(path).is_dir():
        from cooplens.models.config import GeneratorSettings, PipelineConfig

        folder = Path(path)
        trained = GeneratorSettings.load(folder) or PipelineConfig.load(folder)
        cfg = dict(trained.training.get("recipe", {}))
    else:
        cfg = yaml.safe_load(Path(path).read_text()) if path else {}
    cfg.update({k: v for k, v in overrides.items() if v is not None})
    for assignment in assignments:
        key, sep, value = assignment.partition("=")
        if not sep:
            raise ValueError(f"--set takes key=value, got {assignment!r}")
        *parents, leaf = key.split(".")
        target = cfg
        for name in parents:
            target = target.setdefault(name, {})
        target[leaf] = yaml.safe_load(value)
    if cfg.get("device") == "cuda":
        cfg["bf16"] = True
    return cfg
