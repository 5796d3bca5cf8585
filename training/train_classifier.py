"""Fine-tune the cooperation classifier: one YAML config -> one model folder the Analyzer loads.

One multi-task AutoModelForSequenceClassification: logits = [types (sigmoid, multi-label) | scope (softmax) |
is_cooperation (sigmoid)]. One encoder pass per article serves all three answers, and the small scope and
is_cooperation heads borrow the type signal instead of over-fitting on their own. Scope loss only counts for
cooperation articles. Class imbalance: per-type positive weights (negatives/positives, capped).
After training: temperature scaling per head on dev, a threshold per type tuned on dev (F1), test metrics.

method: lora (default; the folder holds a ~1 MB adapter + head on top of the packaged encoder, so it can
ship in git) or full (the folder holds all weights).
Long articles: training reads the first max_length tokens (the lead carries the news); inference packs all
sentences into windows and max-pools the type logits (models/classifier.py).
"""
import argparse
import json
import platform
import random
import shutil
import time
from datetime import date
from pathlib import Path

import numpy as np
import torch
import yaml

from cooplens.models.classifier import head_layout, sigmoid, softmax
from cooplens.models.fetch import resolve_base_model
from cooplens.models.taxonomy import load_taxonomy, save_taxonomy
from cooplens.models.text import normalize
from cooplens.training.corpus import data_hash, read_rows

DEFAULTS = {
    "base_model": "e5-small", "corpus": "data/corpus/corpus.jsonl", "output": "runs/classifier",
    "method": "lora", "seed": 13, "max_length": 256, "epochs": 6, "batch_size": 16, "learning_rate": 1e-3,
    "weight_decay": 0.01, "warmup_ratio": 0.1, "input_prefix": "query: ", "device": None, "bf16": False,
    "lora": {"r": 16, "alpha": 32, "dropout": 0.1, "target_modules": ["query", "key", "value"]},
    "max_pos_weight": 5.0, "limit_train": None,
}


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def targets(row: dict, taxonomy) -> np.ndarray:
    layout = head_layout(taxonomy)
    y = np.full(layout["num_labels"], 0.0, dtype=np.float32)
    for t in row["types"]:
        y[taxonomy.types.index(t)] = 1.0
    y[layout["scope"][0]:layout["scope"][-1] + 1] = -1.0        # -1: no scope target (non-cooperation)
    if row["scope"]:
        y[layout["scope"][taxonomy.scopes.index(row["scope"])]] = 1.0
        for i in layout["scope"]:
            y[i] = max(y[i], 0.0)
    y[layout["cooperation"]] = float(row["is_cooperation"])
    return y


def article_text(row: dict) -> str:
    return normalize("\n".join(p for p in (row.get("title"), row["text"]) if p), row.get("lang"))


def make_dataset(rows: list, tokenizer, taxonomy, cfg: dict):
    from datasets import Dataset

    ds = Dataset.from_dict({"text": [cfg["input_prefix"] + article_text(r) for r in rows],
                            "labels": [targets(r, taxonomy).tolist() for r in rows]})
    return ds.map(lambda b: tokenizer(b["text"], truncation=True, max_length=cfg["max_length"]),
                  batched=True, remove_columns=["text"])


class MultiTaskLoss:
    def __init__(self, layout: dict, pos_weight: torch.Tensor):
        self.layout = layout
        self.pos_weight = pos_weight

    def __call__(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        types, scope, coop = self.layout["types"], self.layout["scope"], self.layout["cooperation"]
        type_loss = torch.nn.functional.binary_cross_entropy_with_logits(
            logits[:, types], labels[:, types], pos_weight=self.pos_weight.to(logits.device))
        coop_loss = torch.nn.functional.binary_cross_entropy_with_logits(logits[:, coop], labels[:, coop])
        has_scope = labels[:, scope].max(dim=1).values > 0
        scope_loss = (torch.nn.functional.cross_entropy(logits[has_scope][:, scope],
                                                        labels[has_scope][:, scope].argmax(dim=1))
                      if has_scope.any() else logits.sum() * 0)
        return type_loss + 0.5 * scope_loss + 0.5 * coop_loss


def build_model(cfg: dict, num_labels: int):
    from transformers import AutoModelForSequenceClassification

    base = resolve_base_model(cfg["base_model"])
    model = AutoModelForSequenceClassification.from_pretrained(base, num_labels=num_labels)
    if cfg["method"] == "lora":
        from peft import LoraConfig, get_peft_model

        lora = cfg["lora"]
        model = get_peft_model(model, LoraConfig(
            r=lora["r"], lora_alpha=lora["alpha"], lora_dropout=lora["dropout"],
            target_modules=lora["target_modules"], modules_to_save=["classifier", "pooler"], task_type="SEQ_CLS"))
    return model, base


def fit_temperature(logits: np.ndarray, labels: np.ndarray, kind: str) -> float:
    """Temperature scaling on dev: one scalar per head, by minimising the dev negative log-likelihood."""
    if len(logits) == 0:
        return 1.0
    z, y = torch.tensor(logits, dtype=torch.float64), torch.tensor(labels, dtype=torch.float64)
    log_t = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    optimiser = torch.optim.LBFGS([log_t], lr=0.1, max_iter=100)

    def closure():
        optimiser.zero_grad()
        scaled = z / log_t.exp()
        loss = (torch.nn.functional.binary_cross_entropy_with_logits(scaled, y) if kind == "sigmoid"
                else torch.nn.functional.cross_entropy(scaled, y.argmax(dim=1)))
        loss.backward()
        return loss

    optimiser.step(closure)
    return float(np.clip(log_t.exp().item(), 0.05, 20.0))


def tune_thresholds(probs: np.ndarray, labels: np.ndarray, names: tuple) -> dict:
    """Per-type threshold maximising dev F1; 0.5 where dev has no positive of that type."""
    thresholds = {}
    for i, name in enumerate(names):
        if labels[:, i].sum() == 0:
            thresholds[name] = 0.5
            continue
        best = max(np.arange(0.1, 0.91, 0.05),
                   key=lambda t: (f1(labels[:, i], probs[:, i] >= t), -abs(t - 0.5)))
        thresholds[name] = round(float(best), 2)
    return thresholds


def f1(truth: np.ndarray, predicted: np.ndarray) -> float:
    tp = float(np.sum((truth == 1) & predicted))
    fp = float(np.sum((truth == 0) & predicted))
    fn = float(np.sum((truth == 1) & ~predicted))
    return 0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn)


def save_model_folder(out: Path, model, tokenizer, taxonomy, cfg: dict, extra: dict) -> None:
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    if cfg["method"] == "full":
        tokenizer.save_pretrained(out)   # a LoRA folder reuses the base model's tokenizer (17 MB: not shipped)
    save_taxonomy(taxonomy, out)
    (out / "cooplens.json").write_text(json.dumps(extra["cooplens"], indent=2, ensure_ascii=False) + "\n")
    (out / "training_config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    (out / "MODEL_CARD.md").write_text(extra["card"], encoding="utf-8")


def model_card(cfg, meta) -> str:
    metrics = json.dumps(meta["metrics"], indent=2)
    return f"""# {meta['name']}

Cooperation-type classifier fine-tuned by `cooplens train` ({cfg['method']}).

- base model: {meta['base_model']} (`{cfg['base_model']}`)
- data: `{cfg['corpus']}` sha256[:16] = {meta['data_hash']}; {meta['n_train']} train / {meta['n_dev']} dev / {meta['n_test']} test articles
- labels: types {', '.join(meta['types'])}; scope {', '.join(meta['scopes'])}; is_cooperation
- head: one multi-task AutoModelForSequenceClassification head (types sigmoid, scope softmax, is_cooperation sigmoid)
- calibration: temperature per head on dev = {meta['temperature']}; per-type thresholds tuned on dev = {meta['thresholds']}
- long articles: trained on the first {cfg['max_length']} tokens; inference max-pools type logits over sentence windows
- training: {meta['train_seconds']:.0f} s on {meta['hardware']}, seed {cfg['seed']}, {cfg['epochs']} epochs, lr {cfg['learning_rate']}
- date: {meta['date']}

## Metrics (dev / test)
```json
{metrics}
```
"""


def evaluate_logits(logits: np.ndarray, rows: list, taxonomy, temperature: dict, thresholds: dict) -> dict:
    from cooplens.eval.metrics import classification_metrics

    layout = head_layout(taxonomy)
    predictions = []
    for z in logits:
        predictions.append({
            "type_probs": dict(zip(taxonomy.types, sigmoid(z[layout["types"]] / temperature["types"]))),
            "scope_probs": dict(zip(taxonomy.scopes, softmax(z[layout["scope"]] / temperature["scope"]))),
            "cooperation_prob": float(sigmoid(z[layout["cooperation"]] / temperature["cooperation"]))})
    return classification_metrics(rows, predictions, taxonomy, thresholds)


def train(cfg: dict) -> Path:
    from transformers import AutoTokenizer, DataCollatorWithPadding, Trainer, TrainingArguments

    cfg = {**DEFAULTS, **cfg}
    seed_everything(cfg["seed"])
    taxonomy = load_taxonomy()
    layout = head_layout(taxonomy)
    rows = read_rows(Path(cfg["corpus"]), taxonomy)
    split = {s: [r for r in rows if r["split"] == s] for s in ("train", "dev", "test")}
    if cfg["limit_train"]:
        split["train"] = split["train"][:cfg["limit_train"]]
    model, base_path = build_model(cfg, layout["num_labels"])
    tokenizer = AutoTokenizer.from_pretrained(base_path)
    train_ds = make_dataset(split["train"], tokenizer, taxonomy, cfg)
    labels = np.array([targets(r, taxonomy) for r in split["train"]])
    positives = labels[:, layout["types"]].sum(axis=0)
    pos_weight = torch.tensor(np.clip((len(labels) - positives) / np.maximum(positives, 1), 1.0, cfg["max_pos_weight"]),
                              dtype=torch.float32)
    loss_fn = MultiTaskLoss(layout, pos_weight)
    device = cfg["device"] or ("cuda" if torch.cuda.is_available() else "cpu")
    out = Path(cfg["output"])
    args = TrainingArguments(
        output_dir=str(out / "checkpoints"), per_device_train_batch_size=cfg["batch_size"],
        num_train_epochs=cfg["epochs"], learning_rate=cfg["learning_rate"], weight_decay=cfg["weight_decay"],
        warmup_steps=cfg["warmup_ratio"],   # transformers 5: a float < 1 is a share of all steps
        logging_steps=10, save_strategy="no", report_to=[], seed=cfg["seed"],
        data_seed=cfg["seed"], use_cpu=device == "cpu", bf16=bool(cfg["bf16"]) and device == "cuda",
        dataloader_num_workers=0, disable_tqdm=False)
    trainer = Trainer(model=model, args=args, train_dataset=train_ds, data_collator=DataCollatorWithPadding(tokenizer),
                      compute_loss_func=lambda outputs, labels, num_items_in_batch=None: loss_fn(outputs.logits, labels))
    started = time.perf_counter()
    trainer.train()
    train_seconds = time.perf_counter() - started

    def logits_for(part):
        if not part:
            return np.zeros((0, layout["num_labels"]), dtype=np.float32)
        return trainer.predict(make_dataset(part, tokenizer, taxonomy, cfg)).predictions

    dev_logits, test_logits = logits_for(split["dev"]), logits_for(split["test"])
    dev_labels = np.array([targets(r, taxonomy) for r in split["dev"]]).reshape(-1, layout["num_labels"])
    coop_dev = dev_labels[:, layout["cooperation"]] == 1
    temperature = {
        "types": fit_temperature(dev_logits[:, layout["types"]], dev_labels[:, layout["types"]], "sigmoid"),
        "scope": fit_temperature(dev_logits[coop_dev][:, layout["scope"]], dev_labels[coop_dev][:, layout["scope"]], "softmax"),
        "cooperation": fit_temperature(dev_logits[:, [layout["cooperation"]]], dev_labels[:, [layout["cooperation"]]], "sigmoid"),
    }
    dev_type_probs = sigmoid(dev_logits[:, layout["types"]] / temperature["types"])
    thresholds = tune_thresholds(dev_type_probs, dev_labels[:, layout["types"]], taxonomy.types)
    metrics = {"dev": evaluate_logits(dev_logits, split["dev"], taxonomy, temperature, thresholds),
               "test": evaluate_logits(test_logits, split["test"], taxonomy, temperature, thresholds)}
    meta = {
        "name": out.name, "base_model": resolve_base_model(cfg["base_model"]) if cfg["method"] == "full" else cfg["base_model"],
        "data_hash": data_hash(cfg["corpus"]), "types": list(taxonomy.types), "scopes": list(taxonomy.scopes),
        "n_train": len(split["train"]), "n_dev": len(split["dev"]), "n_test": len(split["test"]),
        "temperature": temperature, "thresholds": thresholds, "metrics": {k: v["summary"] for k, v in metrics.items()},
        "train_seconds": train_seconds, "date": date.today().isoformat(),
        "hardware": torch.cuda.get_device_name(0) if device == "cuda" else f"CPU ({platform.machine()}, {torch.get_num_threads()} threads)",
    }
    cooplens = {
        "format": "cooplens/1", "name": out.name, "version": date.today().isoformat(),
        "base_models": [cfg["base_model"]],
        "classifier": {"kind": "sequence_classification", "path": ".", "method": cfg["method"],
                       "base_model": cfg["base_model"],
                       "head": {**layout, "temperature": temperature, "input_prefix": cfg["input_prefix"]},
                       "thresholds": thresholds, "cooperation_threshold": 0.5},
        "summarizer": {"kind": "digest"},
        "training": {k: meta[k] for k in ("data_hash", "n_train", "n_dev", "n_test", "train_seconds", "hardware", "date")},
        "metrics": meta["metrics"],
    }
    unwrapped = trainer.model
    save_model_folder(out, unwrapped, tokenizer, taxonomy, cfg, {"cooplens": cooplens, "card": model_card(cfg, meta)})
    shutil.rmtree(out / "checkpoints", ignore_errors=True)
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    return out


def run_cli(args) -> int:
    cfg = yaml.safe_load(Path(args.config).read_text()) if args.config else {}
    for key in ("output", "corpus", "base_model", "method", "device", "epochs"):
        value = getattr(args, key, None)
        if value is not None:
            cfg[key] = value
    if args.device == "cuda":
        cfg["bf16"] = True
    out = train(cfg)
    print(f"model folder: {out}")
    print((out / "MODEL_CARD.md").read_text(encoding="utf-8"))
    return 0


def register_cli(sub) -> None:
    p = sub.add_parser("train", help="fine-tune the cooperation classifier from a YAML config")
    p.add_argument("--config", default=None, help="YAML config (see training/configs/)")
    p.add_argument("--output", default=None)
    p.add_argument("--corpus", default=None)
    p.add_argument("--base-model", dest="base_model", default=None, help="registry name, folder or hub id")
    p.add_argument("--method", choices=["lora", "full"], default=None)
    p.add_argument("--epochs", type=float, default=None)
    p.add_argument("--device", default=None, help="cpu or cuda (cuda trains in bf16)")
    p.set_defaults(func=run_cli)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    register_cli(parser.add_subparsers(dest="command", required=True))
    ns = parser.parse_args()
    raise SystemExit(ns.func(ns))
