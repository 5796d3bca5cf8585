"""Metrics for cooperation classification (and English summaries), computed from gold rows and the Analyzer's
results: what was predicted is read from each result (the decision rule of models/decision.py), never decided
again here, so a metric describes exactly what users get.
"""
import re
from collections import Counter, defaultdict

import numpy as np

from cooplens.models.labelled import is_general_news

ECE_BINS = 10


def prf(tp: float, fp: float, fn: float) -> dict:
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4),
            "support": int(tp + fn)}


def auroc(labels: np.ndarray, scores: np.ndarray) -> float | None:
    """Rank-based AUROC (ties averaged); None when only one class is present."""
    pos, neg = labels == 1, labels == 0
    if not pos.any() or not neg.any():
        return None
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores))
    sorted_scores = scores[order]
    i = 0
    while i < len(scores):
        j = i
        while j + 1 < len(scores) and sorted_scores[j + 1] == sorted_scores[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2 + 1
        i = j + 1
    return float((ranks[pos].sum() - pos.sum() * (pos.sum() + 1) / 2) / (pos.sum() * neg.sum()))


def reliability(probs: np.ndarray, labels: np.ndarray, bins: int = ECE_BINS) -> dict:
    """Expected calibration error and the per-bin (confidence, accuracy, count) of a reliability plot."""
    edges = np.linspace(0, 1, bins + 1)
    table, ece = [], 0.0
    for lo, hi in zip(edges[:-1], edges[1:]):
        inside = (probs >= lo) & ((probs < hi) if hi < 1 else (probs <= hi))
        if inside.any():
            confidence, accuracy = float(probs[inside].mean()), float(labels[inside].mean())
            ece += inside.sum() / len(probs) * abs(confidence - accuracy)
            table.append({"bin": [round(lo, 2), round(hi, 2)], "confidence": round(confidence, 4),
                          "accuracy": round(accuracy, 4), "count": int(inside.sum())})
    return {"ece": round(float(ece), 4), "bins": table}


def type_matrices(rows: list, results: list, taxonomy):
    """Gold types, type probabilities and predicted types as [articles, types] matrices."""
    shape = (-1, len(taxonomy.types))
    gold = np.array([[t in r["types"] for t in taxonomy.types] for r in rows], dtype=int).reshape(shape)
    probs = np.array([[{s.name: s.probability for s in res.types}[t] for t in taxonomy.types]
                      for res in results]).reshape(shape)
    predicted = np.array([[t in res.predicted_types for t in taxonomy.types] for res in results],
                         dtype=bool).reshape(shape)
    return gold, probs, predicted


def f1_block(gold: np.ndarray, predicted: np.ndarray, names: tuple) -> dict:
    per_type = {n: prf(float(np.sum(predicted[:, i] & (gold[:, i] == 1))), float(np.sum(predicted[:, i] & (gold[:, i] == 0))),
                       float(np.sum(~predicted[:, i] & (gold[:, i] == 1)))) for i, n in enumerate(names)}
    tp = float(np.sum(predicted & (gold == 1)))
    fp = float(np.sum(predicted & (gold == 0)))
    fn = float(np.sum(~predicted & (gold == 1)))
    present = [v["f1"] for v in per_type.values() if v["support"] > 0]
    return {"micro_f1": prf(tp, fp, fn)["f1"], "macro_f1": round(float(np.mean(present)), 4) if present else None,
            "per_type": per_type}


def exact_set_rate(gold: np.ndarray, predicted: np.ndarray, coop_gold: np.ndarray, coop_predicted: np.ndarray):
    """Share of gold cooperation articles called cooperation with exactly their set of types (None without any)."""
    rows = coop_gold == 1
    if not rows.any():
        return None
    return float(np.mean((predicted[rows] == gold[rows].astype(bool)).all(axis=1) & (coop_predicted[rows] == 1)))


def cooperation_f1(coop_gold: np.ndarray, coop_predicted: np.ndarray) -> float:
    gold, said = coop_gold == 1, coop_predicted == 1
    return prf(float(np.sum(said & gold)), float(np.sum(said & ~gold)), float(np.sum(~said & gold)))["f1"]


def classification_metrics(rows: list, results: list, taxonomy) -> dict:
    """rows: gold labelled articles; results: the AnalysisResults of the same articles, in order.
    Scope accuracy is over gold cooperation articles: the most probable scope the result reports."""
    gold, probs, predicted = type_matrices(rows, results, taxonomy)
    overall = f1_block(gold, predicted, taxonomy.types)
    coop_gold = np.array([r["is_cooperation"] for r in rows], dtype=int)
    coop_prob = np.array([res.cooperation_probability for res in results])
    coop_predicted = np.array([res.is_cooperation for res in results], dtype=int)
    scope_rows = [(r, res.scope_probabilities) for r, res in zip(rows, results)
                  if r["is_cooperation"] and res.scope_probabilities]
    scope_acc = (float(np.mean([max(p, key=p.get) == r["scope"] for r, p in scope_rows])) if scope_rows else None)
    per_language = {}
    by_lang = defaultdict(list)
    for i, r in enumerate(rows):
        by_lang[r["lang"]].append(i)
    for lang, idx in sorted(by_lang.items()):
        block = f1_block(gold[idx], predicted[idx], taxonomy.types)
        per_language[lang] = {"articles": len(idx), "micro_f1": block["micro_f1"], "macro_f1": block["macro_f1"],
                              "cooperation_accuracy": round(float(np.mean(coop_predicted[idx] == coop_gold[idx])), 4)}
    calibration = reliability(probs.ravel(), gold.ravel()) if len(rows) else {"ece": None, "bins": []}
    cooccurrence = (gold.T @ gold).tolist()
    confusion = (gold.T @ predicted.astype(int)).tolist()     # gold type (row) x predicted type (column)
    errors = np.abs(gold - probs).sum(axis=1) + np.abs(coop_gold - coop_prob)
    worst = [{"id": rows[i]["id"], "lang": rows[i]["lang"], "gold": rows[i]["types"],
              "predicted": [t for j, t in enumerate(taxonomy.types) if predicted[i, j]],
              "cooperation_gold": bool(coop_gold[i]), "cooperation_prob": round(float(coop_prob[i]), 3),
              "error": round(float(errors[i]), 3), "text": rows[i]["text"][:300]}
             for i in np.argsort(-errors)[:10]]
    exact = exact_set_rate(gold, predicted, coop_gold, coop_predicted)
    general = np.array([is_general_news(r) for r in rows], dtype=bool)
    summary = {"articles": len(rows), "micro_f1": overall["micro_f1"], "macro_f1": overall["macro_f1"],
               "exact_type_set": None if exact is None else round(exact, 4),
               "cooperation_f1": cooperation_f1(coop_gold, coop_predicted),
               "general_news_called_cooperation": (round(float(np.mean(coop_predicted[general])), 4)
                                                   if general.any() else None),
               "scope_accuracy": None if scope_acc is None else round(scope_acc, 4),
               "cooperation_auroc": None if auroc(coop_gold, coop_prob) is None else round(auroc(coop_gold, coop_prob), 4),
               "cooperation_accuracy": round(float(np.mean(coop_predicted == coop_gold)), 4) if len(rows) else None,
               "type_ece": calibration["ece"]}
    return {"summary": summary, "per_type": overall["per_type"], "per_language": per_language,
            "reliability": calibration["bins"], "cooccurrence": cooccurrence, "confusion": confusion,
            "worst": worst}


WORD = re.compile(r"\w+")


def words(text: str) -> list:
    """Lower-cased word tokens, punctuation dropped (as the ROUGE scripts do)."""
    return WORD.findall(text.lower())


def f1(overlap: float, candidate_total: int, reference_total: int) -> float:
    if not overlap:
        return 0.0
    precision, recall = overlap / candidate_total, overlap / reference_total
    return 2 * precision * recall / (precision + recall)


def rouge_n(candidate: str, reference: str, n: int) -> float:
    """ROUGE-N F1 (clipped n-gram overlap)."""
    a, b = words(candidate), words(reference)
    grams_a = Counter(tuple(a[i:i + n]) for i in range(len(a) - n + 1))
    grams_b = Counter(tuple(b[i:i + n]) for i in range(len(b) - n + 1))
    return f1(sum((grams_a & grams_b).values()), sum(grams_a.values()), sum(grams_b.values()))


def rouge_l(candidate: str, reference: str) -> float:
    """ROUGE-L F1 (longest common subsequence of words)."""
    a, b = words(candidate), words(reference)
    if not a or not b:
        return 0.0
    previous = [0] * (len(b) + 1)
    for x in a:
        current = [0]
        for j, y in enumerate(b):
            current.append(previous[j] + 1 if x == y else max(previous[j + 1], current[j]))
        previous = current
    return f1(previous[-1], len(a), len(b))


def summary_metrics(candidates: list, references: list, langs: list) -> dict:
    """chrF++ (sacrebleu, word order 2) and ROUGE-1/2/L F1 (x100), overall and per language."""
    from sacrebleu.metrics import CHRF

    chrf = CHRF(word_order=2)
    pairs = [(c, r, lang) for c, r, lang in zip(candidates, references, langs) if r]

    def block(items):
        if not items:
            return None
        mean = lambda fn: round(100 * float(np.mean([fn(c, r) for c, r, _ in items])), 2)   # noqa: E731
        return {"articles": len(items),
                "chrf_pp": round(chrf.corpus_score([c for c, _, _ in items], [[r for _, r, _ in items]]).score, 2),
                "rouge_1": mean(lambda c, r: rouge_n(c, r, 1)), "rouge_2": mean(lambda c, r: rouge_n(c, r, 2)),
                "rouge_l": mean(rouge_l)}

    per_language = {lang: block([p for p in pairs if p[2] == lang]) for lang in sorted({p[2] for p in pairs})}
    return {"overall": block(pairs), "per_language": per_language}


def reference_free_scores(summaries: list, sources: list, references: list, encoder, detect_language) -> dict:
    """A LaSE-style check that needs no reference wording (Bhattacharjee et al., CrossSum): is the summary
    English (ML), is it on the source's meaning (SS: cosine of multilingual e5 embeddings), is its length sane
    (LP: exp(1 - reference length / summary length) when shorter than the reference, else 1, in words).
    LaSE = mean of ML x SS x LP."""
    if not summaries:
        return {}
    english = np.array([float(bool(s.strip()) and detect_language(s).code == "en") for s in summaries])
    sims = np.sum(encoder.encode(summaries) * encoder.encode(sources), axis=1)
    lengths = np.array([max(len(words(s)), 1) for s in summaries])
    ref_lengths = np.array([max(len(words(r)), 1) for r in references])
    penalty = np.where(lengths < ref_lengths, np.exp(1 - ref_lengths / lengths), 1.0)
    return {"english_share": round(float(english.mean()), 4), "source_similarity": round(float(sims.mean()), 4),
            "length_ratio": round(float(np.median(lengths / ref_lengths)), 3),
            "lase": round(float(np.mean(english * sims * penalty)), 4)}


def same_party(predicted: str, gold: str) -> bool:
    """Names match when equal or when one is a word sequence inside the other ("Isfahan" and "Isfahan University of
    Medical Sciences", "WHO" and "World Health Organization (WHO)")."""
    a, b = (" ".join(re.findall(r"\w+", name.lower())) for name in (predicted, gold))
    return bool(a and b) and (a == b or f" {a} " in f" {b} " or f" {b} " in f" {a} ")


def actor_metrics(gold: dict, results: list) -> dict:
    """Precision and recall of the actors (parties of the reported cooperation) against gold actors {id: [{name,
    role}]}: by name, and by name and role. Each gold actor is matched at most once."""
    counts = {"name": [0, 0, 0], "name_and_role": [0, 0, 0]}      # matched, predicted, gold
    for result in results:
        if result.id not in gold:
            continue
        wanted = gold[result.id]
        predicted = [a for a in result.actors if a["role"] != "mentioned"]
        for key, with_role in (("name", False), ("name_and_role", True)):
            free = list(wanted)
            for actor in predicted:
                hit = next((g for g in free if same_party(actor["name"], g["name"])
                            and (not with_role or actor["role"] == g["role"])), None)
                if hit is not None:
                    free.remove(hit)
                    counts[key][0] += 1
            counts[key][1] += len(predicted)
            counts[key][2] += len(wanted)
    return {key: {"precision": round(m / p, 4) if p else None, "recall": round(m / g, 4) if g else None,
                  "articles": sum(r.id in gold for r in results)} for key, (m, p, g) in counts.items()}
