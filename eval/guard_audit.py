"""The faithfulness guard, measured: every sentence the generator writes for a set of labelled articles, with what
the guard decided and why, so that people (or a second annotator) can label each sentence supported / partly /
invented; then the guard's precision and recall against those labels, and the support threshold that serves best.

    python -m cooplens.eval.guard_audit dump --split dev --strategy translate --out eval/results/guard_dev_translate_sentences.jsonl
    python -m cooplens.eval.guard_audit score eval/results/guard_dev_translate_sentences.jsonl eval/results/guard_dev_translate_labels.jsonl

The labels in eval/results were written by annotators who saw only the source and the sentence (eval/RESULTS.md).
"""
import argparse
import json
from pathlib import Path

import numpy as np

from cooplens.models.config import assigned_settings
from cooplens.models.labelled import is_real_news, read_rows


def dump(split: str, out: Path, strategy: str | None, limit: int | None, model: str | None,
         summarizer: str | None, settings: dict | None = None) -> None:
    """Generate with the support and grounding checks scored but not applied, so every sentence is kept, or with
    strategy None exactly as the model ships (to audit what users are shown); settings: config values by dotted
    name, as `cooplens eval --set` takes them. Write the sentences (out) and the summaries (out with
    .summaries.jsonl), and print chrF++ of the summaries."""
    from cooplens.eval.metrics import summary_metrics
    from cooplens.models.analyzer import Analyzer

    unguarded = {} if strategy is None else {         # scored and recorded, nothing dropped
        "summarizer.strategy": strategy, "summarizer.support_threshold": 0.0,
        "summarizer.grounding_threshold": float("-inf"), "summarizer.candidates": 1}      # the best translation
    analyzer = Analyzer.from_pretrained(model, summarizer=summarizer, settings={**unguarded, **(settings or {})})
    rows = [r for r in read_rows("data/corpus/corpus.jsonl") if r["split"] == split and is_real_news(r)]
    rows = rows[::max(1, len(rows) // limit)][:limit] if limit else rows      # a limit takes a spread over languages
    results = analyzer.analyze([{"title": r.get("title"), "text": r["text"]} for r in rows], ids=[r["id"] for r in rows])
    with open(out.with_suffix(".summaries.jsonl"), "w", encoding="utf-8") as fh:
        for row, result in zip(rows, results):
            fh.write(json.dumps({"id": row["id"], "lang": row["lang"], "kind": result.summary_kind,
                                 "summary": result.summary_en, "reference": row["summary_en"],
                                 "check": result.summary_check}, ensure_ascii=False) + "\n")
    shown = [r.summary_en if r.summary_kind == "generated" else "" for r in results]
    print(json.dumps({"strategy": strategy, "articles": len(rows),
                      "abstained": sum(r.summary_kind != "generated" for r in results),
                      **summary_metrics(shown, [r["summary_en"] for r in rows], [r["lang"] for r in rows])}))
    with open(out, "w", encoding="utf-8") as fh:
        for row, result in zip(rows, results):
            kept = result.summary_en if result.summary_kind == "generated" else ""
            check = result.summary_check
            candidates = [(s, []) for s in split_kept(kept)] + list(zip(check.get("removed_sentences", []),
                                                                      check.get("removed_because", [])))
            for sentence, reasons in candidates:
                fh.write(json.dumps({"id": row["id"], "lang": row["lang"], "strategy": strategy, "sentence": sentence,
                                     "guard_kept": not reasons, "reasons": reasons,
                                     "support": check.get("support", {}).get(sentence),
                                     "grounding": (check.get("grounding", {}).get(sentence) or [None])[0],
                                     "source": result.source_text, "reference": row["summary_en"]},
                                    ensure_ascii=False) + "\n")


def split_kept(text: str) -> list:
    from cooplens.models.faithfulness import english_sentences

    return english_sentences(text) if text else []


def score(sentences_path: Path, labels_path: Path) -> dict:
    """Precision / recall of the guard at flagging unsupported sentences (labels: supported | partly | invented;
    partly and invented count as unsupported), and the same for each support threshold alone."""
    from functools import partial

    from cooplens.models.faithfulness import fact_check_reasons, source_roles, swapped_roles
    from cooplens.models.parties import Gazetteer

    gazetteer = Gazetteer.load()
    rows = [json.loads(line) for line in open(sentences_path, encoding="utf-8")]
    labels = {(l["id"], l["sentence"]): l["label"] for l in map(json.loads, open(labels_path, encoding="utf-8"))}
    rows = [r for r in rows if (r["id"], r["sentence"]) in labels]
    bad = np.array([labels[(r["id"], r["sentence"])] != "supported" for r in rows])

    def fact_check_fails(r) -> bool:       # the guard's fact checks as the code stands now (not as dumped)
        # the role check reads the source's role words alone: the dump does not keep the article's actors
        in_source = source_roles(r["source"], gazetteer.mentions(r["source"], r["lang"]), r["lang"], [])
        roles = partial(swapped_roles, in_source=in_source, english_mentions=lambda text: gazetteer.mentions(text, "en"))
        reasons = fact_check_reasons(r["sentence"], r["source"], gazetteer.find(r["source"], r["lang"]),
                                     lambda text: gazetteer.find(text, "en"), roles)
        return bool(reasons) or "repeats an earlier sentence" in r["reasons"]

    flagged = np.array([fact_check_fails(r) for r in rows])

    def prf(predicted):
        tp, fp, fn = (predicted & bad).sum(), (predicted & ~bad).sum(), (~predicted & bad).sum()
        p = tp / (tp + fp) if tp + fp else 0.0
        r = tp / (tp + fn) if tp + fn else 0.0
        return {"precision": round(float(p), 3), "recall": round(float(r), 3),
                "f1": round(float(2 * p * r / (p + r)) if p + r else 0.0, 3), "flagged": int(predicted.sum())}

    support = np.array([r["support"] if r["support"] is not None else 1.0 for r in rows])
    by_threshold = {round(float(t), 2): prf(flagged | (support < t)) for t in np.arange(0.70, 0.96, 0.01)}
    result = {"sentences": len(rows), "unsupported": int(bad.sum()), "guard_without_support": prf(flagged),
              "guard_with_support_threshold": by_threshold}
    if any(r.get("grounding") is not None for r in rows):      # dumped with the grounding check scored
        grounding = np.array([r["grounding"] if r.get("grounding") is not None else np.inf for r in rows])
        result["guard_with_grounding_threshold"] = {
            round(float(t), 2): prf(flagged | (grounding < t)) for t in np.arange(-1.0, 1.01, 0.25)}
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="action", required=True)
    p = sub.add_parser("dump")
    p.add_argument("--split", default="dev")
    p.add_argument("--strategy", default="translate")
    p.add_argument("--as-shipped", action="store_true", help="the model's own strategy and support threshold")
    p.add_argument("--limit", type=int, default=None)
    p.add_argument("--model", default=None)
    p.add_argument("--summarizer", default=None)
    p.add_argument("--out", required=True)
    p.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                   help="a config value by dotted name, e.g. summarizer.candidates=1 (repeatable)")
    p = sub.add_parser("score")
    p.add_argument("sentences")
    p.add_argument("labels")
    args = parser.parse_args(argv)
    if args.action == "dump":
        dump(args.split, Path(args.out), None if args.as_shipped else args.strategy, args.limit, args.model,
             args.summarizer, assigned_settings(args.set))
    else:
        print(json.dumps(score(Path(args.sentences), Path(args.labels)), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
