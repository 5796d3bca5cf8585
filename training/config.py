"""What every trainer shares: a YAML config overridden by command-line flags, and the seeds."""
import random
from pathlib import Path

import numpy as np
import torch
import yaml

OVERRIDES = ("output", "corpus", "base_model", "method", "device", "epochs", "limit_train")


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def add_training_args(p, configs: str) -> None:
    p.add_argument("--config", default=None, help=f"YAML config (see {configs})")
    p.add_argument("--output", default=None)
    p.add_argument("--corpus", default=None)
    p.add_argument("--base-model", dest="base_model", default=None, help="registry name, folder or hub id")
    p.add_argument("--method", choices=["lora", "full"], default=None)
    p.add_argument("--epochs", type=float, default=None)
    p.add_argument("--device", default=None, help="cpu or cuda (cuda trains in bf16)")


def config_from_args(args) -> dict:
    """The YAML file named by --config, with any flag given on the command line taking precedence."""
    cfg = yaml.safe_load(Path(args.config).read_text()) if args.config else {}
    for key in OVERRIDES:
        value = getattr(args, key, None)
        if value is not None:
            cfg[key] = value
    if args.device == "cuda":
        cfg["bf16"] = True
    return cfg


def print_model_card(folder: Path) -> None:
    print(f"model folder: {folder}")
    print((folder / "MODEL_CARD.md").read_text(encoding="utf-8"))
