"""Which offline encoder reads real news best, and at what cost: multilingual-e5-small vs EmbeddingGemma-300M, each
frozen, as a linear probe (one logistic layer for the 8 types and is_cooperation) trained on the corpus train split,
thresholds chosen on the real dev split, scored on the real test split; plus seconds per article and load time.
A probe compares what each encoder already knows at equal training cost; the shipped model fine-tunes e5 on top.

    python -m cooplens.eval.encoders --out eval/results/encoders.json
"""
import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from cooplens.models.labelled import is_real_news, read_rows
from cooplens.models.taxonomy import load_taxonomy
from cooplens.models.text import article_text, normalize

PREFIXES = {"e5-small": "query: ", "embeddinggemma-300m": "task: classification | query: "}


def embed(name: str, texts: list, max_length: int) -> tuple[np.ndarray, float, float]:
    """(unit vectors, load seconds, seconds per article) with the encoder's mean pooling."""
    from transformers import AutoModel, AutoTokenizer

    from cooplens.models.encoder import mean_pool
    from cooplens.models.fetch import resolve_base_model
    from cooplens.models.runtime import length_sorted_batches, quiet_transformers

    t0 = time.perf_counter()
    path = resolve_base_model(name)
    with quiet_transformers():
        tokenizer = AutoTokenizer.from_pretrained(path)
        model = AutoModel.from_pretrained(path, dtype=torch.float32).eval()
    load = time.perf_counter() - t0
    out = np.zeros((len(texts), model.config.hidden_size), dtype=np.float32)
    t0 = time.perf_counter()
    with torch.inference_mode():
        for idx in length_sorted_batches([len(t) for t in texts], 16):
            batch = tokenizer([PREFIXES[name] + texts[i] for i in idx], padding=True, truncation=True,
                              max_length=max_length, return_tensors="pt")
            hidden = model(**batch).last_hidden_state
            out[idx] = torch.nn.functional.normalize(mean_pool(hidden, batch["attention_mask"]), dim=-1).numpy()
    return out, load, (time.perf_counter() - t0) / len(texts)


def probe(x: np.ndarray, y: np.ndarray, l2: float = 1e-3, steps: int = 300) -> torch.nn.Linear:
    """Logistic regression for every label at once (multi-label), by LBFGS on standardised features."""
    torch.manual_seed(13)
    xt, yt = torch.tensor(x), torch.tensor(y, dtype=torch.float32)
    layer = torch.nn.Linear(x.shape[1], y.shape[1])
    optimiser = torch.optim.LBFGS(layer.parameters(), lr=0.5, max_iter=steps)

    def closure():
        optimiser.zero_grad()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(layer(xt), yt) + l2 * layer.weight.pow(2).sum()
        loss.backward()
        return loss

    optimiser.step(closure)
    return layer


def scores(probs: np.ndarray, gold: np.ndarray, thresholds: np.ndarray) -> dict:
    from cooplens.eval.metrics import f1_block, prf

    types, coop = probs[:, :-1], probs[:, -1]
    is_coop = coop >= thresholds[-1]
    predicted = (types >= thresholds[:-1]) & is_coop[:, None]
    block = f1_block(gold[:, :-1].astype(int), predicted, tuple(range(types.shape[1])))
    coop_gold = gold[:, -1] == 1
    exact = float(np.mean((predicted[coop_gold] == gold[coop_gold, :-1].astype(bool)).all(axis=1) & is_coop[coop_gold]))
    return {"micro_f1": block["micro_f1"], "macro_f1": block["macro_f1"], "exact_type_set": round(exact, 4),
            "cooperation_f1": prf(float(np.sum(is_coop & coop_gold)), float(np.sum(is_coop & ~coop_gold)),
                                  float(np.sum(~is_coop & coop_gold)))["f1"]}


def main(argv=None) -> int:
    from cooplens.training.calibration import tune_thresholds

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", default="data/corpus/corpus.jsonl")
    parser.add_argument("--encoders", nargs="+", default=list(PREFIXES))
    parser.add_argument("--max-length", type=int, default=256)
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    taxonomy = load_taxonomy()
    rows = read_rows(args.corpus, taxonomy)
    parts = {"train": [r for r in rows if r["split"] == "train"],
             "dev": [r for r in rows if r["split"] == "dev" and is_real_news(r)],
             "test": [r for r in rows if r["split"] == "test" and is_real_news(r)]}
    gold = {s: np.array([[t in r["types"] for t in taxonomy.types] + [r["is_cooperation"]] for r in part], dtype=float)
            for s, part in parts.items()}
    report = {}
    for name in args.encoders:
        texts = {s: [normalize(article_text(r.get("title"), r["text"]), r["lang"]) for r in part]
                 for s, part in parts.items()}
        vectors, load, per_article = embed(name, texts["train"] + texts["dev"] + texts["test"], args.max_length)
        n_train, n_dev = len(texts["train"]), len(texts["dev"])
        x = {"train": vectors[:n_train], "dev": vectors[n_train:n_train + n_dev], "test": vectors[n_train + n_dev:]}
        mean, std = x["train"].mean(0), x["train"].std(0) + 1e-6
        layer = probe((x["train"] - mean) / std, gold["train"])
        with torch.no_grad():
            probs = {s: torch.sigmoid(layer(torch.tensor((x[s] - mean) / std))).numpy() for s in ("dev", "test")}
        chosen = tune_thresholds(probs["dev"], gold["dev"], tuple(range(gold["dev"].shape[1])))
        thresholds = np.array([chosen[i] for i in range(gold["dev"].shape[1])])
        report[name] = {"test_real": scores(probs["test"], gold["test"], thresholds),
                        "dev_real": scores(probs["dev"], gold["dev"], thresholds),
                        "load_seconds": round(load, 1), "seconds_per_article": round(per_article, 3),
                        "dimensions": int(vectors.shape[1]), "max_tokens": args.max_length}
        print(name, json.dumps(report[name]))
    if args.out:
        Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
