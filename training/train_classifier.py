"""Fine-tune the cooperation classifier: one YAML config -> one model folder the Analyzer loads.

One multi-task AutoModelForSequenceClassification: logits = [types (sigmoid, multi-label) | scope (softmax) |
is_cooperation (sigmoid)]. One encoder pass per article serves all three answers, and the small scope and
is_cooperation heads borrow the type signal instead of over-fitting on their own. Scope loss only counts for
cooperation articles. Class imbalance: per-type positive weights (negatives/positives, capped).
After training (`calibrate_folder`): calibration fitted on dev through the inference path (the Analyzer's own text
preparation and language identification, sentence windows, max-pooling; per-type Platt scaling, a temperature for
scope), a threshold per type tuned on dev (F1), then dev and test scored by the Analyzer itself.

method: lora (default; the folder holds a ~2 MB adapter + head on top of the packaged encoder, so it can
ship in git) or full (the folder holds all weights).
Long articles: training reads the first max_length tokens (the lead carries the news); inference packs all
sentences into window_tokens windows and max-pools the type logits (models/classifier.py).
"""
import json
import platform
import shutil
import time
from datetime import date
from pathlib import Path

import numpy as np
import torch

from cooplens.models.classifier import head_layout
from cooplens.models.config import ClassifierConfig, PipelineConfig
from cooplens.models.fetch import resolve_base_model
from cooplens.models.labelled import data_hash, is_real_news, read_rows
from cooplens.models.runtime import use_bf16
from cooplens.models.taxonomy import load_taxonomy, save_taxonomy
from cooplens.models.text import article_text, normalize, prepare
from cooplens.training.calibration import fit_logistic, fit_temperature, tune_relative_threshold, tune_thresholds
from cooplens.training.config import seed_everything

DEFAULTS = {
    "base_model": "e5-small", "corpus": "data/corpus/corpus.jsonl", "output": "runs/classifier",
    "method": "lora", "seed": 13, "max_length": 256, "window_tokens": 512, "epochs": 6, "batch_size": 16, "learning_rate": 1e-3,
    "weight_decay": 0.01, "warmup_ratio": 0.1, "input_prefix": "query: ", "device": None, "bf16": "auto",
    "calibrate_on": "all",         # fit calibration and thresholds on all dev rows ("real": only the real-news ones)
    "checkpoint_steps": 100,       # a killed run resumes from its last checkpoint (same output folder)
    "lora": {"r": 16, "alpha": 32, "dropout": 0.1, "target_modules": ["query", "key", "value"]},
    "max_pos_weight": 2.0, "limit_train": None,
    "real_repeats": 1,             # passes over the real-news train rows per epoch (the written ones: one)
    "head_seeds": 1,               # method head: heads trained from this many seeds, averaged into one linear head
    "max_grad_norm": 1.0,          # the Trainer's gradient clipping; 0 turns it off
    "ensemble_leave_out": None,    # method head: an id prefix (or a list); a second set of head_seeds heads is trained
                                   # without those rows and averaged in, so they weigh half (eval/RESULTS.md)
    "cooperation_only": None,      # an id prefix (or a list): those rows teach is_cooperation only (their types and
                                   # scope are masked out of the loss)
    "cooperation_head_extra": None,  # method head: an id prefix (or a list): those rows train only the heads that give
                                     # the is_cooperation logit; the type and scope heads never see them
}


def id_prefixes(cfg: dict, key: str) -> tuple:
    """The id prefixes a recipe key names (one string or a list of them), as str.startswith takes them."""
    prefixes = cfg.get(key) or ()
    return (prefixes,) if isinstance(prefixes, str) else tuple(prefixes)


def targets(row: dict, taxonomy, cooperation_only: tuple = ()) -> np.ndarray:
    """One row's training targets: types 0/1, scope one-hot, is_cooperation 0/1; -1 where there is no target (the
    scope of a non-cooperation article; the types and scope of a row whose id starts with a cooperation_only prefix)."""
    layout = head_layout(taxonomy)
    y = np.full(layout["num_labels"], 0.0, dtype=np.float32)
    for t in row["types"]:
        y[taxonomy.types.index(t)] = 1.0
    y[layout["scope"][0]:layout["scope"][-1] + 1] = -1.0
    if row["scope"]:
        y[layout["scope"][taxonomy.scopes.index(row["scope"])]] = 1.0
        for i in layout["scope"]:
            y[i] = max(y[i], 0.0)
    if cooperation_only and row["id"].startswith(cooperation_only):
        y[:layout["cooperation"]] = -1.0
    y[layout["cooperation"]] = float(row["is_cooperation"])
    return y


def make_dataset(rows: list, tokenizer, taxonomy, cfg: dict):
    from datasets import Dataset

    texts = [normalize(article_text(r.get("title"), r["text"]), r["lang"]) for r in rows]
    ds = Dataset.from_dict({"text": [cfg["input_prefix"] + t for t in texts],
                            "labels": [targets(r, taxonomy, id_prefixes(cfg, "cooperation_only")).tolist()
                                       for r in rows]})
    return ds.map(lambda b: tokenizer(b["text"], truncation=True, max_length=cfg["max_length"]),
                  batched=True, remove_columns=["text"])


class MultiTaskLoss:
    def __init__(self, layout: dict, pos_weight: torch.Tensor):
        self.layout = layout
        self.pos_weight = pos_weight

    def __call__(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        types, scope, coop = self.layout["types"], self.layout["scope"], self.layout["cooperation"]
        known = labels[:, types] >= 0                # -1: a cooperation_only row has no type targets
        type_loss = (torch.nn.functional.binary_cross_entropy_with_logits(
            logits[:, types], labels[:, types].clamp(min=0), pos_weight=self.pos_weight.to(logits.device),
            reduction="none") * known).sum() / known.sum().clamp(min=1)
        coop_loss = torch.nn.functional.binary_cross_entropy_with_logits(logits[:, coop], labels[:, coop])
        has_scope = labels[:, scope].max(dim=1).values > 0
        scope_loss = (torch.nn.functional.cross_entropy(logits[has_scope][:, scope],
                                                        labels[has_scope][:, scope].argmax(dim=1))
                      if has_scope.any() else logits.sum() * 0)
        return type_loss + 0.5 * scope_loss + 0.5 * coop_loss


def indices_without(rows: list, prefixes: tuple) -> np.ndarray:
    """Positions of the rows whose id starts with none of these prefixes."""
    return np.array([i for i, r in enumerate(rows) if not r["id"].startswith(prefixes)], dtype=int)


def recipe_loss(cfg: dict, rows: list, taxonomy) -> "MultiTaskLoss":
    """multitask_loss with the recipe's max_pos_weight and cooperation_only rows."""
    return multitask_loss(rows, taxonomy, cfg["max_pos_weight"], id_prefixes(cfg, "cooperation_only"))


def multitask_loss(rows: list, taxonomy, max_pos_weight: float, cooperation_only: tuple = ()) -> "MultiTaskLoss":
    """The loss for these training rows: each type's positives weighted by its negatives/positives ratio, capped."""
    layout = head_layout(taxonomy)
    labels = np.array([targets(r, taxonomy, cooperation_only) for r in rows])[:, layout["types"]]
    positives, negatives = (labels == 1).sum(axis=0), (labels == 0).sum(axis=0)
    pos_weight = torch.tensor(np.clip(negatives / np.maximum(positives, 1), 1.0, max_pos_weight),
                              dtype=torch.float32)
    return MultiTaskLoss(layout, pos_weight)


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


class HeadModel(torch.nn.Module):
    """method: head — a linear multi-task head on standardised embeddings of a frozen encoder, trained by the
    Trainer like any model; saved folded into one weight matrix and bias (models/classifier.py: HeadClassifier)."""

    def __init__(self, mean: np.ndarray, std: np.ndarray, num_labels: int, loss_fn):
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32))
        self.linear = torch.nn.Linear(len(mean), num_labels)
        self.loss_fn = loss_fn

    def forward(self, embedding, labels=None):
        logits = self.linear((embedding - self.mean) / self.std)
        return {"logits": logits} if labels is None else {"loss": self.loss_fn(logits, labels), "logits": logits}

    def folded(self) -> dict:
        weight = (self.linear.weight / self.std).detach()
        bias = (self.linear.bias - weight @ self.mean).detach()
        return {"weight": weight.numpy().astype(np.float32), "bias": bias.numpy().astype(np.float32)}


def first_windows(rows: list, encoder, cfg: dict) -> list:
    """Each article's first window, read as inference reads it (preparation, language, sentence packing)."""
    from cooplens.models.classifier import pack_windows

    return [pack_windows(prepare(article_text(r.get("title"), r["text"])).sentences, encoder.tokenizer,
                         cfg["window_tokens"])[0] for r in rows]


def cached_embeddings(encoder, texts: list, cfg: dict) -> np.ndarray:
    """Frozen-encoder embeddings, cached on disk per text (re-training a head costs seconds, and rows added to the
    corpus are the only ones embedded again); repeated rows (real_repeats) are embedded once."""
    import hashlib

    from cooplens.models.fetch import cache_dir

    def key(text: str) -> str:
        return hashlib.sha256(text.encode()).hexdigest()[:32]

    base = Path(str(cfg["base_model"]))
    # a registry name is pinned and hash-checked; a local folder is named by its weight files too, so another model
    # saved at the same path (a retrained base, a test's random encoder) is embedded anew, not read from the cache
    files = [[f.name, f.stat().st_size, f.stat().st_mtime_ns] for f in sorted(base.glob("*"))
             if f.suffix in (".safetensors", ".bin")] if base.is_dir() else []
    setting = hashlib.sha256(json.dumps([cfg["base_model"], cfg["window_tokens"], cfg["input_prefix"]] +
                                        ([files] if files else []), ensure_ascii=False).encode()).hexdigest()[:16]
    path = cache_dir() / "embeddings" / f"{base.name}-{setting}.npz"
    cached = dict(np.load(path)) if path.exists() else {}
    missing = [t for t in dict.fromkeys(texts) if key(t) not in cached]
    if missing:
        cached.update(zip(map(key, missing), encoder.encode(missing, prefix=cfg["input_prefix"])))
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.stem + ".partial.npz")    # a killed run leaves the previous cache whole
        np.savez(partial, **cached)
        partial.replace(path)
    return np.array([cached[key(t)] for t in texts])


def train_head(cfg: dict, train_rows: list, taxonomy, loss_fn, device: str, out: Path):
    """Embed every training article once with the frozen encoder, then train the head with the Trainer, once per
    seed (head_seeds): averaging linear heads is averaging their logits, so the ensemble costs nothing at inference
    and removes most of the seed-to-seed spread (±0.02 macro-F1 on real test for one head).
    cooperation_head_extra: the rows it names train only a second ensemble, whose is_cooperation row replaces the
    first's; the types and scope come from heads that never saw them (rows that sharpen is_cooperation but, trained
    on jointly, cost type precision: eval/RESULTS.md)."""
    from safetensors.numpy import save_file

    from cooplens.models.encoder import SentenceEncoder

    encoder = SentenceEncoder(resolve_base_model(cfg["base_model"]), device, cfg["window_tokens"], 16)
    all_vectors = cached_embeddings(encoder, first_windows(train_rows, encoder, cfg), cfg)
    extra = id_prefixes(cfg, "cooperation_head_extra")
    if extra:
        main = indices_without(train_rows, extra)
        main_rows = [train_rows[i] for i in main]
        head = fit_heads(cfg, main_rows, all_vectors[main], taxonomy, recipe_loss(cfg, main_rows, taxonomy), device,
                         out)
        cooperation = head_layout(taxonomy)["cooperation"]
        with_extra = fit_heads(cfg, train_rows, all_vectors, taxonomy, loss_fn, device, out)
        for name in ("weight", "bias"):
            head[name][cooperation] = with_extra[name][cooperation]
    else:
        head = fit_heads(cfg, train_rows, all_vectors, taxonomy, loss_fn, device, out)
    out.mkdir(parents=True, exist_ok=True)
    save_file(head, str(out / "head.safetensors"))


def fit_heads(cfg: dict, train_rows: list, all_vectors: np.ndarray, taxonomy, loss_fn, device: str, out: Path) -> dict:
    """The averaged head (folded weight and bias) of head_seeds seeds on these rows, and of as many again without the
    ensemble_leave_out rows when the recipe names some."""
    from datasets import Dataset
    from transformers import Trainer, TrainingArguments

    layout = head_layout(taxonomy)
    subsets = [(np.arange(len(train_rows)), loss_fn)]
    left_out, cooperation_only = id_prefixes(cfg, "ensemble_leave_out"), id_prefixes(cfg, "cooperation_only")
    if left_out:
        kept = indices_without(train_rows, left_out)
        subsets.append((kept, recipe_loss(cfg, [train_rows[i] for i in kept], taxonomy)))
    heads = []
    for indices, loss in subsets:
        rows, vectors = [train_rows[i] for i in indices], all_vectors[indices]
        dataset = Dataset.from_dict({"embedding": vectors.tolist(),
                                     "labels": [targets(r, taxonomy, cooperation_only).tolist()
                                                for r in rows]}).with_format("torch")
        for seed in range(cfg["seed"], cfg["seed"] + cfg["head_seeds"]):
            seed_everything(seed)
            model = HeadModel(vectors.mean(0), vectors.std(0) + 1e-6, layout["num_labels"], loss)
            args = TrainingArguments(
                output_dir=str(out / "checkpoints"), per_device_train_batch_size=cfg["batch_size"],
                num_train_epochs=cfg["epochs"], learning_rate=cfg["learning_rate"], weight_decay=cfg["weight_decay"],
                warmup_steps=cfg["warmup_ratio"], max_grad_norm=cfg["max_grad_norm"], logging_steps=50,
                save_strategy="no", report_to=[], seed=seed, data_seed=seed, use_cpu=device == "cpu",
                dataloader_num_workers=0, disable_tqdm=True)
            Trainer(model=model, args=args, train_dataset=dataset).train()
            heads.append(model.folded())
    return {name: np.mean([h[name] for h in heads], axis=0).astype(np.float32) for name in ("weight", "bias")}


def calibrate_folder(folder: Path, corpus: Path) -> dict:
    """Fit calibration and thresholds on dev through the path inference uses, score dev and test with the Analyzer
    itself, and rewrite the folder (config, card, metrics.json). Returns the full metrics."""
    from cooplens.eval.metrics import classification_metrics
    from cooplens.models.analyzer import Analyzer

    analyzer = Analyzer.from_pretrained(str(folder), summarizer="digest")
    spec, taxonomy, classifier = analyzer.config.classifier, analyzer.taxonomy, analyzer.classifier
    head = spec.head
    rows = read_rows(Path(corpus), taxonomy)
    split = {s: [r for r in rows if r["split"] == s] for s in ("dev", "test")}
    recipe = analyzer.config.training.get("recipe", {})
    fit_rows = ([r for r in split["dev"] if is_real_news(r)] if recipe.get("calibrate_on", "all") == "real"
                else split["dev"])
    dev_sentences = [prepare(article_text(r.get("title"), r["text"]), analyzer.config.text).sentences
                     for r in fit_rows]
    logits = classifier.pooled_logits(dev_sentences, with_sentences=False)[0]
    dev_targets = np.array([targets(r, taxonomy) for r in fit_rows]).reshape(-1, head["num_labels"])
    coop_rows = dev_targets[:, head["cooperation"]] == 1
    spec.calibration = {
        "types": [fit_logistic(logits[:, [i]], dev_targets[:, i]) for i in head["types"]],
        "scope_temperature": fit_temperature(logits[coop_rows][:, head["scope"]],
                                             dev_targets[coop_rows][:, head["scope"]], "softmax"),
        "cooperation": fit_logistic(logits[:, [head["cooperation"]]], dev_targets[:, head["cooperation"]]),
    }
    type_probs = classifier.probabilities(logits)[0]
    spec.thresholds = tune_thresholds(type_probs, dev_targets[:, head["types"]], taxonomy.types)
    spec.relative_threshold = tune_relative_threshold(type_probs, dev_targets[:, head["types"]], spec, taxonomy.types)
    metrics = {s: classification_metrics(part, analyzer.analyze([{"title": r.get("title"), "text": r["text"]}
                                                                 for r in part]), taxonomy)
               for s, part in split.items()}
    analyzer.config.metrics = {s: m["summary"] for s, m in metrics.items()}
    (Path(folder) / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    analyzer.save_pretrained(folder)
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
    # real news is what the model is judged on and the smaller part of the corpus: it can be seen more often
    train_rows = split["train"] + [r for r in split["train"] if is_real_news(r)] * (cfg["real_repeats"] - 1)
    loss_fn = recipe_loss(cfg, train_rows, taxonomy)
    device = cfg["device"] or ("cuda" if torch.cuda.is_available() else "cpu")
    out = Path(cfg["output"])
    started = time.perf_counter()
    if cfg["method"] == "head":
        train_head(cfg, train_rows, taxonomy, loss_fn, device, out)
        return finish(cfg, out, taxonomy, split, time.perf_counter() - started, device, "embedding_head")
    model, base_path = build_model(cfg, layout["num_labels"])
    tokenizer = AutoTokenizer.from_pretrained(base_path)
    train_ds = make_dataset(train_rows, tokenizer, taxonomy, cfg)
    args = TrainingArguments(
        output_dir=str(out / "checkpoints"), per_device_train_batch_size=cfg["batch_size"],
        num_train_epochs=cfg["epochs"], learning_rate=cfg["learning_rate"], weight_decay=cfg["weight_decay"],
        warmup_steps=cfg["warmup_ratio"],   # transformers 5: a float < 1 is a share of all steps
        logging_steps=10, save_strategy="steps", save_steps=cfg["checkpoint_steps"], save_total_limit=1,
        report_to=[], seed=cfg["seed"], data_seed=cfg["seed"], use_cpu=device == "cpu",
        bf16=use_bf16(cfg["bf16"], device), dataloader_num_workers=0, disable_tqdm=False)
    trainer = Trainer(model=model, args=args, train_dataset=train_ds, data_collator=DataCollatorWithPadding(tokenizer),
                      compute_loss_func=lambda outputs, labels, num_items_in_batch=None: loss_fn(outputs.logits, labels))
    resume = any((out / "checkpoints").glob("checkpoint-*"))      # a run killed earlier goes on from there
    trainer.train(resume_from_checkpoint=resume or None)
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
    else:
        tokenizer.save_pretrained(out)   # a LoRA folder reuses the base model's tokenizer (17 MB: not shipped)
    return finish(cfg, out, taxonomy, split, train_seconds, device, "sequence_classification")


def finish(cfg: dict, out: Path, taxonomy, split: dict, train_seconds: float, device: str, kind: str) -> Path:
    """Write the folder's config and taxonomy next to the trained weights, then calibrate and score it."""
    layout = head_layout(taxonomy)
    shutil.rmtree(out / "checkpoints", ignore_errors=True)
    save_taxonomy(taxonomy, out)
    PipelineConfig(
        name=out.name, version=date.today().isoformat(), base_models=[cfg["base_model"]],
        classifier=ClassifierConfig(
            kind=kind, base_model=cfg["base_model"], method=cfg["method"],
            window_tokens=cfg["window_tokens"], input_prefix=cfg["input_prefix"],
            head={**layout, "type_names": list(taxonomy.types), "scope_names": list(taxonomy.scopes)}),
        training={"data_hash": data_hash(cfg["corpus"]), "n_train": len(split["train"]), "n_dev": len(split["dev"]),
                  "n_test": len(split["test"]), "train_seconds": round(train_seconds), "date": date.today().isoformat(),
                  "hardware": torch.cuda.get_device_name(0) if device == "cuda"
                  else f"CPU ({platform.machine()}, {torch.get_num_threads()} threads)", "recipe": cfg},
    ).save(out)
    calibrate_folder(out, Path(cfg["corpus"]))
    return out


def main(cfg: dict, calibrate_only: str | None = None) -> Path:
    """`cooplens train`: train (and calibrate) from a config, or only re-fit a trained folder's calibration."""
    if calibrate_only:
        calibrate_folder(Path(calibrate_only), Path(cfg.get("corpus", DEFAULTS["corpus"])))
        return Path(calibrate_only)
    return train(cfg)
