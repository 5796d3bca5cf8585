"""Is model B better than model A, or is the difference noise? A paired bootstrap over articles.

`cooplens eval` writes predictions_<model>.jsonl beside each report. Give the same sets for both models, in the same
order; the articles of all sets are pooled (a small gain on three small sets is judged once, on all of them) and
resampled together, so both models are always scored on the same articles:

    python -m cooplens.eval.compare --base eval/results/natural_train_2026-12h/base-252-left-out/*/predictions_*.jsonl \
        --candidate eval/results/natural_train_2026-12h/with-252-cooperation-only/*/predictions_*.jsonl

For each metric it prints A, B, B - A and the 95 % interval of B - A over resamples, and how often B - A < 0.
"""
import argparse
import json
from pathlib import Path

import numpy as np

from cooplens.eval.metrics import cooperation_f1, exact_set_rate, f1_block

RESAMPLES = 2000
SEED = 13


def read_pairs(base_files: list, candidate_files: list) -> tuple:
    """The two models' prediction rows on the same articles, in one order (ids prefixed by their set)."""
    if len(base_files) != len(candidate_files):
        raise SystemExit("give one candidate file for every base file, in the same order")
    base, candidate = [], []
    for k, (a_path, b_path) in enumerate(zip(base_files, candidate_files)):
        a = {r["id"]: r for r in map(json.loads, Path(a_path).read_text(encoding="utf-8").splitlines())}
        b = {r["id"]: r for r in map(json.loads, Path(b_path).read_text(encoding="utf-8").splitlines())}
        if a.keys() != b.keys():
            raise SystemExit(f"{a_path} and {b_path} hold different articles ({len(a.keys() ^ b.keys())} differ)")
        for i in sorted(a):
            base.append({**a[i], "id": f"{k}:{i}"})
            candidate.append({**b[i], "id": f"{k}:{i}"})
    return base, candidate


def label_arrays(rows: list, types: list) -> dict:
    return {"gold": np.array([[t in r["gold_types"] for t in types] for r in rows], dtype=int).reshape(-1, len(types)),
            "predicted": np.array([[t in r["types"] for t in types] for r in rows], dtype=bool).reshape(-1, len(types)),
            "coop_gold": np.array([r["gold_is_cooperation"] for r in rows], dtype=bool),
            "coop": np.array([r["is_cooperation"] for r in rows], dtype=bool)}


def scores(arrays: dict, idx: np.ndarray, types: list) -> dict:
    gold, predicted = arrays["gold"][idx], arrays["predicted"][idx]
    coop_gold, coop = arrays["coop_gold"][idx], arrays["coop"][idx]
    block = f1_block(gold, predicted, tuple(types))
    return {"micro_f1": block["micro_f1"], "macro_f1": block["macro_f1"] or 0.0,
            "exact_type_set": exact_set_rate(gold, predicted, coop_gold, coop) or 0.0,
            "cooperation_f1": cooperation_f1(coop_gold, coop),
            "cooperation_accuracy": float(np.mean(coop == coop_gold))}


def paired_bootstrap(base: list, candidate: list, resamples: int = RESAMPLES, seed: int = SEED) -> dict:
    """Each metric for A and B on all articles, and B - A over resamples of the articles (the same draw for both)."""
    types = sorted({t for r in base for t in r["type_probabilities"]})
    a, b = label_arrays(base, types), label_arrays(candidate, types)
    everything = np.arange(len(base))
    observed_a, observed_b = scores(a, everything, types), scores(b, everything, types)
    rng = np.random.default_rng(seed)
    deltas = {m: [] for m in observed_a}
    for _ in range(resamples):
        idx = rng.integers(0, len(base), len(base))
        sa, sb = scores(a, idx, types), scores(b, idx, types)
        for m in deltas:
            deltas[m].append(sb[m] - sa[m])
    out = {"articles": len(base), "resamples": resamples,
           "answers_changed": {"is_cooperation": int(np.sum(a["coop"] != b["coop"])),
                               "type_set": int(np.sum((a["predicted"] != b["predicted"]).any(axis=1)))}}
    for m, values in deltas.items():
        values = np.array(values)
        out[m] = {"base": round(observed_a[m], 4), "candidate": round(observed_b[m], 4),
                  "difference": round(observed_b[m] - observed_a[m], 4),
                  "interval_95": [round(float(np.percentile(values, 2.5)), 4), round(float(np.percentile(values, 97.5)), 4)],
                  "share_worse": round(float(np.mean(values < 0)), 4)}
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", nargs="+", required=True, help="predictions_<model>.jsonl of model A, one per set")
    parser.add_argument("--candidate", nargs="+", required=True, help="model B's, the same sets in the same order")
    parser.add_argument("--resamples", type=int, default=RESAMPLES)
    parser.add_argument("--out", default=None, help="also write the numbers to this JSON file")
    args = parser.parse_args(argv)
    result = paired_bootstrap(*read_pairs(args.base, args.candidate), resamples=args.resamples)
    print(f"{result['articles']} articles; answers changed: is_cooperation {result['answers_changed']['is_cooperation']},"
          f" type set {result['answers_changed']['type_set']}")
    print(f"{'metric':<22}{'A':>8}{'B':>8}{'B - A':>8}   95 % interval   share of resamples B worse")
    for m in ("micro_f1", "macro_f1", "exact_type_set", "cooperation_f1", "cooperation_accuracy"):
        r = result[m]
        print(f"{m:<22}{r['base']:>8.3f}{r['candidate']:>8.3f}{r['difference']:>+8.3f}   "
              f"[{r['interval_95'][0]:+.3f}, {r['interval_95'][1]:+.3f}]   {r['share_worse']:.2f}")
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
