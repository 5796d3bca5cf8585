"""A public-benchmark check of the training code: SIB-200 topic classification (7 topics), fine-tuned per language
on its train split and scored on its dev split (the test split is not available offline).

  python -m cooplens.training.train_sib200 --sib ../shared/data/sib200 --langs pes_Arab ben_Beng eng_Latn \
      --out eval/results/sib200.json

Reference (SIB-200 paper, Table 7, test accuracy): XLM-R-base pes_Arab 88.6, ben_Beng 83.0; XLM-R-large 91.0 / 88.4;
GPT-4 76.4 / 74.4.
"""
import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from cooplens.models.fetch import resolve_base_model
from cooplens.training.train_classifier import seed_everything

PAPER = {"pes_Arab": {"xlmr_base": 88.6, "xlmr_large": 91.0, "gpt4": 76.4},
         "ben_Beng": {"xlmr_base": 83.0, "xlmr_large": 88.4, "gpt4": 74.4}}


def read_split(folder: Path, split: str) -> tuple[list, list]:
    lines = (folder / f"{split}.tsv").read_text(encoding="utf-8").splitlines()[1:]
    rows = [line.split("\t", 2) for line in lines]
    return [r[2] for r in rows], [r[1] for r in rows]


def fine_tune(base_model: str, sib_dir: Path, lang: str, epochs: float, lr: float, seed: int,
              device: str | None) -> dict:
    from datasets import Dataset
    from transformers import (AutoModelForSequenceClassification, AutoTokenizer, DataCollatorWithPadding, Trainer,
                              TrainingArguments)

    seed_everything(seed)
    train_text, train_topic = read_split(sib_dir / lang, "train")
    dev_text, dev_topic = read_split(sib_dir / lang, "dev")
    topics = sorted(set(train_topic))
    path = resolve_base_model(base_model)
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModelForSequenceClassification.from_pretrained(path, num_labels=len(topics))

    def dataset(texts, labels):
        ds = Dataset.from_dict({"text": ["query: " + t for t in texts], "label": [topics.index(x) for x in labels]})
        return ds.map(lambda b: tokenizer(b["text"], truncation=True, max_length=128), batched=True,
                      remove_columns=["text"])

    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    args = TrainingArguments(output_dir="/tmp/cooplens-sib200", per_device_train_batch_size=32, num_train_epochs=epochs,
                             learning_rate=lr, warmup_steps=0.1, weight_decay=0.01, save_strategy="no", report_to=[],
                             seed=seed, data_seed=seed, use_cpu=device == "cpu", bf16=device == "cuda",
                             logging_steps=20, disable_tqdm=True)
    trainer = Trainer(model=model, args=args, train_dataset=dataset(train_text, train_topic),
                      data_collator=DataCollatorWithPadding(tokenizer))
    started = time.perf_counter()
    trainer.train()
    seconds = time.perf_counter() - started
    logits = trainer.predict(dataset(dev_text, dev_topic)).predictions
    accuracy = float(np.mean(np.argmax(logits, axis=1) == np.array([topics.index(x) for x in dev_topic])))
    return {"lang": lang, "dev_accuracy": round(100 * accuracy, 1), "n_train": len(train_text),
            "n_dev": len(dev_text), "train_seconds": round(seconds), "epochs": epochs, "lr": lr,
            "device": torch.cuda.get_device_name(0) if device == "cuda" else "cpu", "paper_test": PAPER.get(lang, {})}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sib", default="../shared/data/sib200")
    parser.add_argument("--langs", nargs="+", default=["pes_Arab", "ben_Beng", "eng_Latn"])
    parser.add_argument("--base-model", default="e5-small")
    parser.add_argument("--epochs", type=float, default=8)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--device", default=None)
    parser.add_argument("--out", default="eval/results/sib200.json")
    args = parser.parse_args(argv)
    results = [fine_tune(args.base_model, Path(args.sib), lang, args.epochs, args.lr, args.seed, args.device)
               for lang in args.langs]
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"base_model": args.base_model, "results": results}, indent=2) + "\n")
    for r in results:
        print(json.dumps(r))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
