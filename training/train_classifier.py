"""Fine-tune the cooperation classifier: one YAML config -> one model folder the Analyzer loads.

One multi-task AutoModelForSequenceClassification: logits = [types (sigmoid, multi-label) | scope (softmax) |
is_cooperation (sigmoid)]. One encoder pass per article serves all three answers, and the small scope and
is_cooperation heads borrow the type signal instead of over-fitting on their own. Scope loss only counts for
cooperation articles. Class imbalance: per-type positive weights (negatives/positives, capped).
After training: calibration fitted on dev through the inference path (per-type Platt scaling, a temperature for
scope), a threshold per type tuned on dev (F1), dev and test metrics in the model card.

method: lora (default; the folder holds a ~1 MB adapter + head on top of the packaged encoder, so it can
ship in git) or full (the folder holds all weights).
Long articles: training reads the first max_length tokens (the lead carries the news); inference packs all
sentences into windows and max-pools the type logits (models/classifier.py).
"""
import argparse
import json
import platform
import shutil
import time
from datetime import date
from pathlib import Path

import numpy as np
import torch
import yaml

from cooplens.models.classifier import SequenceClassifier, head_layout
from cooplens.models.fetch import resolve_base_model
from cooplens.models.taxonomy import load_taxonomy, save_taxonomy
from cooplens.models.text import normalize, prepare
from cooplens.training.calibration import fit_logistic, fit_temperature, tune_thresholds
from cooplens.training.config import add_training_args, config_from_args, print_model_card, seed_everything
from cooplens.training.corpus import data_hash, read_rows

DEFAULTS = {
    "base_model": "e5-small", "corpus": "data/corpus/corpus.jsonl", "output": "runs/classifier",
    "method": "lora", "seed": 13, "max_length": 256, "epochs": 6, "batch_size": 16, "learning_rate": 1e-3,
    "weight_decay": 0.01, "warmup_ratio": 0.1, "input_prefix": "query: ", "device": None, "bf16": False,
    "lora": {"r": 16, "alpha": 32, "dropout": 0.1, "target_modules": ["query", "key", "value"]},
    "max_pos_weight": 5.0, "limit_train": None,
}


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


def model_card(config: dict, cfg: dict) -> str:
    training, classifier = config["training"], config["classifier"]
    return f"""# {config['name']}

Cooperation-type classifier fine-tuned by `cooplens train` ({cfg['method']}).

- base model: {cfg['base_model']} ({'LoRA adapter + head on top of it' if cfg['method'] == 'lora' else 'all weights in this folder'})
- data: `{cfg['corpus']}` sha256[:16] = {training['data_hash']}; {training['n_train']} train / {training['n_dev']} dev / {training['n_test']} test articles
- labels: types {', '.join(classifier['head'].get('type_names', []))}; scope {', '.join(classifier['head'].get('scope_names', []))}; is_cooperation
- head: one multi-task AutoModelForSequenceClassification head (types sigmoid, scope softmax, is_cooperation sigmoid)
- calibration (fitted on dev through the inference path): {json.dumps(classifier['head'].get('calibration', {}))}
- thresholds per type (dev F1): {json.dumps(classifier['thresholds'])}
- long articles: trained on the first {cfg['max_length']} tokens; inference max-pools type logits over sentence windows
- training: {training['train_seconds']:.0f} s on {training['hardware']}, seed {cfg['seed']}, {cfg['epochs']} epochs, lr {cfg['learning_rate']}
- date: {training['date']}

## Metrics
```json
{json.dumps(config.get('metrics', {}), indent=2)}
```
"""


def calibrate_folder(folder: Path, corpus: Path) -> dict:
    """Fit calibration and thresholds on dev through the same code path inference uses (windows, pooling), score
    dev and test, and rewrite the folder's cooplens.json and MODEL_CARD.md. Returns the full metrics."""
    from cooplens.eval.metrics import classification_metrics

    folder = Path(folder)
    config = json.loads((folder / "cooplens.json").read_text())
    cfg = yaml.safe_load((folder / "training_config.yaml").read_text())
    taxonomy = load_taxonomy(folder / "taxonomy.yaml")
    head = {**{k: v for k, v in config["classifier"]["head"].items() if k not in ("calibration", "temperature")},
            "type_names": list(taxonomy.types), "scope_names": list(taxonomy.scopes)}
    classifier = SequenceClassifier(folder, taxonomy, head, base_model=config["classifier"].get("base_model"))
    rows = read_rows(Path(corpus), taxonomy)
    split = {s: [r for r in rows if r["split"] == s] for s in ("dev", "test")}
    logits = {s: classifier.pooled_logits([prepare(article_text(r), r["lang"]).sentences for r in part])[0]
              for s, part in split.items()}
    dev_targets = np.array([targets(r, taxonomy) for r in split["dev"]]).reshape(-1, head["num_labels"])
    coop_rows = dev_targets[:, head["cooperation"]] == 1
    calibration = {
        "types": [fit_logistic(logits["dev"][:, [i]], dev_targets[:, i]) for i in head["types"]],
        "scope_temperature": fit_temperature(logits["dev"][coop_rows][:, head["scope"]],
                                             dev_targets[coop_rows][:, head["scope"]], "softmax"),
        "cooperation": fit_logistic(logits["dev"][:, [head["cooperation"]]], dev_targets[:, head["cooperation"]]),
    }
    classifier.head = {**head, "calibration": calibration}

    def predictions(s):
        type_probs, scope_probs, coop_probs = classifier.probabilities(logits[s])
        return [{"type_probs": dict(zip(taxonomy.types, t)), "scope_probs": dict(zip(taxonomy.scopes, sc)),
                 "cooperation_prob": float(c)} for t, sc, c in zip(type_probs, scope_probs, coop_probs)]

    dev_predictions = predictions("dev")
    thresholds = tune_thresholds(np.array([[p["type_probs"][t] for t in taxonomy.types] for p in dev_predictions]),
                                 dev_targets[:, head["types"]], taxonomy.types)
    metrics = {"dev": classification_metrics(split["dev"], dev_predictions, taxonomy, thresholds),
               "test": classification_metrics(split["test"], predictions("test"), taxonomy, thresholds)}
    config["classifier"]["head"] = classifier.head
    config["classifier"]["thresholds"] = thresholds
    config["metrics"] = {s: m["summary"] for s, m in metrics.items()}
    (folder / "cooplens.json").write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n")
    (folder / "MODEL_CARD.md").write_text(model_card(config, cfg), encoding="utf-8")
    (folder / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    return metrics


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

    out.mkdir(parents=True, exist_ok=True)
    trainer.model.save_pretrained(out)
    if cfg["method"] == "lora":
        # peft records the local cache path of the base; name the registry entry instead, and drop peft's
        # template README (MODEL_CARD.md is the card)
        adapter_config = json.loads((out / "adapter_config.json").read_text())
        adapter_config["base_model_name_or_path"] = cfg["base_model"]
        (out / "adapter_config.json").write_text(json.dumps(adapter_config, indent=2))
        (out / "README.md").unlink(missing_ok=True)
    if cfg["method"] == "full":
        tokenizer.save_pretrained(out)   # a LoRA folder reuses the base model's tokenizer (17 MB: not shipped)
    shutil.rmtree(out / "checkpoints", ignore_errors=True)
    save_taxonomy(taxonomy, out)
    (out / "training_config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    config = {
        "format": "cooplens/1", "name": out.name, "version": date.today().isoformat(),
        "base_models": [cfg["base_model"]],
        "classifier": {"kind": "sequence_classification", "path": ".", "method": cfg["method"],
                       "base_model": cfg["base_model"],
                       "head": {**layout, "type_names": list(taxonomy.types), "scope_names": list(taxonomy.scopes),
                                "input_prefix": cfg["input_prefix"]},
                       "thresholds": {}, "cooperation_threshold": 0.5},
        "summarizer": {"kind": "digest"},
        "training": {"data_hash": data_hash(cfg["corpus"]), "n_train": len(split["train"]), "n_dev": len(split["dev"]),
                     "n_test": len(split["test"]), "train_seconds": round(train_seconds), "date": date.today().isoformat(),
                     "hardware": torch.cuda.get_device_name(0) if device == "cuda"
                     else f"CPU ({platform.machine()}, {torch.get_num_threads()} threads)"},
    }
    (out / "cooplens.json").write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n")
    calibrate_folder(out, Path(cfg["corpus"]))
    return out


def run_cli(args) -> int:
    if args.calibrate_only:
        out = Path(args.calibrate_only)
        calibrate_folder(out, Path(args.corpus or "data/corpus/corpus.jsonl"))
    else:
        out = train(config_from_args(args))
    print_model_card(out)
    return 0


def register_cli(sub) -> None:
    p = sub.add_parser("train", help="fine-tune the cooperation classifier from a YAML config")
    add_training_args(p, "training/configs/classifier_*.yaml")
    p.add_argument("--calibrate-only", default=None, metavar="FOLDER",
                   help="re-fit calibration and thresholds of a trained folder on the corpus dev split")
    p.set_defaults(func=run_cli)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    register_cli(parser.add_subparsers(dest="command", required=True))
    ns = parser.parse_args()
    raise SystemExit(ns.func(ns))
