"""Calibrate the zero-shot prototype classifier on the corpus and write its model folder.

The encoder is not trained: e5 similarities between sentences and the taxonomy's prototypes are turned
into probabilities by small per-type logistic regressions (3 weights each) fitted on the train split;
thresholds are tuned on dev; dev/test are scored by the Analyzer; the folder is written by the Analyzer.
  cooplens calibrate-zero-shot --out runs/cooplens-zeroshot-e5
"""
import json
from datetime import date
from pathlib import Path

import numpy as np

from cooplens.models.classifier import PrototypeClassifier
from cooplens.models.config import ClassifierConfig, PipelineConfig
from cooplens.models.encoder import SentenceEncoder
from cooplens.models.fetch import resolve_base_model
from cooplens.models.labelled import data_hash, read_rows
from cooplens.models.taxonomy import load_taxonomy, save_taxonomy
from cooplens.models.text import article_text, prepare
from cooplens.training.calibration import fit_logistic, tune_thresholds


def corpus_features(classifier: PrototypeClassifier, rows: list):
    """Article type and cooperation features, the text prepared as inference prepares it."""
    sentence_lists = [prepare(article_text(r.get("title"), r["text"])).sentences for r in rows]
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
    from cooplens.models.analyzer import Analyzer

    taxonomy = load_taxonomy()
    rows = read_rows(corpus, taxonomy)
    split = {s: [r for r in rows if r["split"] == s] for s in ("train", "dev", "test")}
    spec = ClassifierConfig(kind="prototype", base_model=encoder_name, method="none")
    classifier = PrototypeClassifier(SentenceEncoder(resolve_base_model(encoder_name)), taxonomy, spec)
    features = {s: corpus_features(classifier, split[s]) for s in ("train", "dev")}
    gold = {s: np.array([[t in r["types"] for t in taxonomy.types] for r in split[s]], dtype=float)
            for s in ("train", "dev")}
    spec.calibration = {
        "types": {name: fit_logistic(features["train"][0][:, i, :], gold["train"][:, i])
                  for i, name in enumerate(taxonomy.types)},
        "cooperation": fit_logistic(features["train"][1], np.array([r["is_cooperation"] for r in split["train"]],
                                                                   dtype=float))}
    dev_probs = np.array([[float(classifier.calibrated(spec.calibration["types"][n], tf[i]))
                           for i, n in enumerate(taxonomy.types)] for tf in features["dev"][0]])
    spec.thresholds = tune_thresholds(dev_probs, gold["dev"], taxonomy.types)
    out.mkdir(parents=True, exist_ok=True)
    save_taxonomy(taxonomy, out)
    today = date.today().isoformat()
    PipelineConfig(name=out.name, version=today, base_models=[encoder_name], classifier=spec,
                   training={"data_hash": data_hash(corpus), "n_train": len(split["train"]),
                             "n_dev": len(split["dev"]), "n_test": len(split["test"]), "date": today,
                             "recipe": {"corpus": str(corpus), "base_model": encoder_name}}).save(out)
    analyzer = Analyzer.from_pretrained(str(out), summarizer="digest")
    metrics = {s: classification_metrics(split[s], analyzer.analyze([{"title": r.get("title"), "text": r["text"]}
                                                                     for r in split[s]]), taxonomy)
               for s in ("dev", "test")}
    analyzer.config.metrics = {s: m["summary"] for s, m in metrics.items()}
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    analyzer.save_pretrained(out)
    return analyzer.config.metrics
