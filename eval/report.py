"""`cooplens eval`: run one or more models over a labelled JSONL file and write an HTML report with plots
and a JSON of every number (classification, calibration, English-summary scores against the references)."""
import base64
import html
import io
import json
import time
from functools import lru_cache
from pathlib import Path

import numpy as np

from cooplens.eval.metrics import actor_metrics, classification_metrics, reference_free_scores, summary_metrics
from cooplens.models.config import assigned_settings
from cooplens.models.faithfulness import check_against_source
from cooplens.models.labelled import is_real_news
from cooplens.models.parties import Party
from cooplens.models.text import split_sentences


def faithfulness_rate(analyzer, summaries: list, sources: list, source_parties: list) -> float | None:
    """Share of numbers and named parties in the summaries that trace back to the source text (the rule the
    Analyzer's guard applies: parties found in the source, and their countries)."""
    checked = traced = 0
    for summary, source, parties in zip(summaries, sources, source_parties):
        if not summary:
            continue
        report = check_against_source(summary, source, parties, lambda text: analyzer.gazetteer.find(text, "en"))
        total = report.numbers_checked + report.names_checked
        checked += total
        traced += total - len(report.untraced_numbers) - len(report.untraced_names)
    return round(traced / checked, 4) if checked else None


@lru_cache(maxsize=1)
def plain_e5():
    """The packaged e5 as a sentence encoder (the classifiers hold adapted copies): loaded once per run."""
    from cooplens.models.encoder import SentenceEncoder
    from cooplens.models.fetch import resolve_base_model

    return SentenceEncoder(resolve_base_model("e5-small"))


def key_sentences(result, most: int = 3) -> str:
    """The floor: the sentences the classifier cites as evidence (else the lead), untranslated."""
    cited = list(dict.fromkeys(e.sentence for e in result.evidence))[:most]
    return " ".join(cited or split_sentences(result.source_text)[:2])


def summary_scores(analyzer, pairs: list) -> dict:
    """English summaries of the cooperation articles that have a reference: the model's own (shipped), the
    structured digest, and the untranslated key sentences (the floor), each against the references; plus the
    reference-free LaSE-style check and what the faithfulness guard removed."""
    from cooplens.models.langid import detect_language

    if not pairs:
        return {}
    rows = [row for row, _ in pairs]
    results = [res for _, res in pairs]
    references, langs = [r["summary_en"] for r in rows], [r["lang"] for r in rows]
    variants = {"shipped": [r.summary_en for r in results], "digest": [r.digest for r in results],
                "key_sentences": [key_sentences(res) for res in results]}
    sources = [res.source_text for res in results]
    source_parties = [[Party(**p) for p in res.parties] for res in results]
    out = {"kind": analyzer.model_info["summarizer"]}
    for name, candidates in variants.items():
        # an abstention states no summary: its words are the pipeline's own ("No English summary", "Persian-language
        # report", the actors, the quote), so the shipped faithfulness rate is over the summaries shown
        stated = [text if name != "shipped" or res.summary_kind != "abstained" else ""
                  for text, res in zip(candidates, results)]
        out[name] = {**summary_metrics(candidates, references, langs),
                     "faithfulness_rate": faithfulness_rate(analyzer, stated, sources, source_parties)}
    # where the generator spoke, against the digest of the same articles: what the generated summaries add
    spoke = [i for i, res in enumerate(results) if res.summary_kind == "generated"]
    out["where_generated"] = {name: summary_metrics([variants[name][i] for i in spoke], [references[i] for i in spoke],
                                                    [langs[i] for i in spoke]) for name in ("shipped", "digest")} \
        if spoke else {}
    for name in ("shipped", "digest"):
        out[name]["reference_free"] = reference_free_scores(variants[name], sources, references, plain_e5(),
                                                            detect_language)
    checks = [r.summary_check for r in results if r.summary_check]
    stated = sum(c["generated_facts_checked"] for c in checks)
    out["guard"] = {"generated_summaries": len(checks),
                    "generated_faithfulness_before_guard": round(1 - sum(len(c["generated_untraced"]) for c in checks)
                                                                 / stated, 4) if stated else None,
                    "summaries_with_removed_sentences": sum(bool(c["removed_sentences"]) and not c["withheld"]
                                                            for c in checks),
                    "sentences_removed": sum(len(c["removed_sentences"]) for c in checks if not c["withheld"]),
                    "summaries_withheld": sum(c["withheld"] for c in checks)}
    out["samples"] = [{"id": row["id"], "lang": row["lang"], "summary": res.summary_en, "reference": row["summary_en"]}
                      for row, res in pairs[:12]]
    return out


REAL_GROUPS = {"fa": "fa", "bn": "bn"}      # every other language of real news is "other"


def groups(pairs: list) -> dict:
    """The rows that matter apart: real news first (all, and per language group), then the written corpus."""
    out = {"real news": [p for p in pairs if is_real_news(p[0])]}
    for lang in ("fa", "bn", "other"):
        out[f"real news: {lang}"] = [p for p in out["real news"] if REAL_GROUPS.get(p[0]["lang"], "other") == lang]
    out["written and other"] = [p for p in pairs if not is_real_news(p[0])]
    return out


def evaluate_model(model: str | None, rows: list, device: str | None = None, summarizer: str | None = None,
                   settings: dict | None = None, actors_gold: dict | None = None) -> dict:
    from cooplens.models.analyzer import Analyzer

    analyzer = Analyzer.from_pretrained(model, device=device, summarizer=summarizer, settings=settings)
    started = time.perf_counter()
    results = analyzer.analyze([{"title": r.get("title"), "text": r["text"]} for r in rows], ids=[r["id"] for r in rows])
    seconds = time.perf_counter() - started
    failed = [r.id for r in results if r.error]
    ok = [(row, res) for row, res in zip(rows, results) if not res.error]
    metrics = classification_metrics([r for r, _ in ok], [res for _, res in ok], analyzer.taxonomy)
    metrics["groups"] = {name: classification_metrics([r for r, _ in part], [res for _, res in part],
                                                      analyzer.taxonomy)["summary"]
                         for name, part in groups(ok).items() if part}
    # real news has a reference for negatives too: users paste those, and the same faithfulness rules hold
    scored = [(row, res) for row, res in ok if row.get("summary_en") and (row["is_cooperation"] or is_real_news(row))]
    real = [(row, res) for row, res in scored if is_real_news(row)]
    metrics["summaries"] = summary_scores(analyzer, scored)
    # a real-news-only run scores the same rows twice otherwise
    metrics["summaries_real_news"] = metrics["summaries"] if len(real) == len(scored) else summary_scores(analyzer, real)
    if actors_gold:
        metrics["actors"] = actor_metrics(actors_gold, [res for _, res in ok])
    metrics["model"] = analyzer.model_info
    metrics["failed_ids"] = failed
    metrics["seconds_per_article"] = round(seconds / max(len(rows), 1), 3)
    return {"metrics": metrics, "taxonomy": analyzer.taxonomy, "predictions": [prediction_row(r, res) for r, res in ok]}


def prediction_row(row: dict, result) -> dict:
    """One article's gold labels beside what the model answered: the input of `python -m cooplens.eval.compare`,
    with the English summary shown (or the abstention) to read or pair summaries between runs."""
    return {"id": row["id"], "lang": row["lang"], "gold_is_cooperation": row["is_cooperation"],
            "gold_types": row["types"], "gold_scope": row["scope"], "is_cooperation": result.is_cooperation,
            "types": result.predicted_types, "scope": result.scope,
            "cooperation_probability": result.cooperation_probability,
            "type_probabilities": {t.name: t.probability for t in result.types},
            "summary_kind": result.summary_kind, "summary_en": result.summary_en}


def figure_png(fig) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode()


def plots(name: str, metrics: dict, taxonomy) -> dict:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = {}
    fig, ax = plt.subplots(figsize=(4.2, 4))
    ax.plot([0, 1], [0, 1], "--", color="grey", label="perfect calibration")
    bins = metrics["reliability"]
    ax.plot([b["confidence"] for b in bins], [b["accuracy"] for b in bins], "o-", label=name)
    ax.set_xlabel("predicted probability (type)")
    ax.set_ylabel("observed frequency")
    ax.set_title(f"Reliability, ECE = {metrics['summary']['type_ece']}")
    ax.legend(fontsize=7)
    out["reliability"] = figure_png(fig)
    for key, title in (("confusion", "gold type (rows) x predicted type (columns)"),
                       ("cooccurrence", "gold label co-occurrence")):
        matrix = np.array(metrics[key])
        fig, ax = plt.subplots(figsize=(5.5, 4.8))
        ax.imshow(matrix, cmap="Blues")
        ax.set_xticks(range(len(taxonomy.types)), taxonomy.types, rotation=60, ha="right", fontsize=7)
        ax.set_yticks(range(len(taxonomy.types)), taxonomy.types, fontsize=7)
        for (i, j), value in np.ndenumerate(matrix):
            ax.text(j, i, str(value), ha="center", va="center", fontsize=6)
        ax.set_title(title, fontsize=9)
        out[key] = figure_png(fig)
    return out


def table(headers: list, rows: list) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{html.escape('' if v is None else str(v))}</td>" for v in row) + "</tr>"
                   for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def html_report(results: dict, data_path: str, command: str) -> str:
    parts = [f"<h1>cooplens evaluation</h1><p>data: <code>{html.escape(data_path)}</code><br>command: "
             f"<code>{html.escape(command)}</code></p>"]
    names = list(results)
    keys = ["articles", "micro_f1", "macro_f1", "scope_accuracy", "cooperation_auroc", "cooperation_accuracy", "type_ece"]
    parts.append("<h2>Summary</h2>" + table(["model", *keys, "s/article"],
                 [[n, *[results[n]["metrics"]["summary"][k] for k in keys], results[n]["metrics"]["seconds_per_article"]]
                  for n in names]))
    group_keys = ["articles", "micro_f1", "macro_f1", "exact_type_set", "cooperation_f1",
                  "general_news_called_cooperation", "scope_accuracy", "type_ece"]
    parts.append("<h2>Real news first</h2><p>Real published articles (the test of what users meet), per language "
                 "group, and the corpus written for the project. exact_type_set: share of cooperation articles whose "
                 "predicted type set is exactly the gold set.</p>" + table(
        ["model", "rows", *group_keys], [[n, group, *[block.get(k) for k in group_keys]]
                                         for n in names for group, block in results[n]["metrics"]["groups"].items()]))
    langs = sorted({lang for n in names for lang in results[n]["metrics"]["per_language"]})
    parts.append("<h2>Macro-F1 per language</h2>" + table(
        ["model", *langs], [[n, *[results[n]["metrics"]["per_language"].get(lang, {}).get("macro_f1") for lang in langs]]
                            for n in names]))
    if all(results[n]["metrics"]["summaries"] for n in names):     # the data has reference summaries
        parts.append("<h2>English summaries vs references</h2><p>Cooperation articles with a reference summary. "
                     "<i>shipped</i>: the model's summary (after the faithfulness guard); <i>digest</i>: the structured "
                     "digest; <i>key_sentences</i>: the cited source sentences, untranslated (the floor). Faithfulness: "
                     "share of numbers and gazetteer names in the summary that trace to the source (shipped: over the "
                     "summaries shown, not the abstentions).</p>" + table(
            ["model", "summary", "chrF++", "ROUGE-1", "ROUGE-2", "ROUGE-L", "faithfulness", *[f"chrF++ {lang}" for lang in langs]],
            [[n, f"{variant} ({results[n]['metrics']['summaries']['kind']})" if variant == "shipped" else variant,
              *[(results[n]["metrics"]["summaries"][variant]["overall"] or {}).get(k)
                for k in ("chrf_pp", "rouge_1", "rouge_2", "rouge_l")],
              results[n]["metrics"]["summaries"][variant]["faithfulness_rate"],
              *[(results[n]["metrics"]["summaries"][variant]["per_language"].get(lang) or {}).get("chrf_pp") for lang in langs]]
             for n in names for variant in ("shipped", "digest", "key_sentences")]))
        parts.append("<h3>Where the generator spoke</h3><p>The articles with a generated summary (not an abstention): "
                     "the summary against the digest of the same articles.</p>" + table(
            ["model", "summary", "articles", "chrF++", "ROUGE-2", *[f"chrF++ {lang}" for lang in langs]],
            [[n, variant, block["overall"]["articles"], block["overall"]["chrf_pp"], block["overall"]["rouge_2"],
              *[(block["per_language"].get(lang) or {}).get("chrf_pp") for lang in langs]]
             for n in names for variant, block in results[n]["metrics"]["summaries"]["where_generated"].items()]))
        parts.append("<h3>Reference-free check (LaSE-style) and the guard</h3>" + table(
            ["model", "summary", "English share", "source similarity (e5)", "length ratio (median)", "LaSE",
             "generated", "faithfulness before the guard", "with sentences removed", "sentences removed", "withheld"],
            [[n, variant, *[results[n]["metrics"]["summaries"][variant]["reference_free"].get(k)
                            for k in ("english_share", "source_similarity", "length_ratio", "lase")],
              *([results[n]["metrics"]["summaries"]["guard"][k] for k in
                 ("generated_summaries", "generated_faithfulness_before_guard", "summaries_with_removed_sentences",
                  "sentences_removed", "summaries_withheld")]
                if variant == "shipped" else [""] * 5)]
             for n in names for variant in ("shipped", "digest")]))
        parts.append("<h2>Actors (who did what with whom)</h2><p>Parties of the reported cooperation against gold actors "
                     "of the real test split: by name, and by name and role.</p>" + table(
            ["model", "match", "precision", "recall", "articles"],
            [[n, key, block["precision"], block["recall"], block["articles"]]
             for n in names for key, block in results[n]["metrics"].get("actors", {}).items()]))
        for n in names:
            parts.append(f"<h3>Sample summaries: {html.escape(n)}</h3>" + table(
                ["id", "lang", "summary", "reference"],
                [[x["id"], x["lang"], x["summary"], x["reference"]] for x in results[n]["metrics"]["summaries"]["samples"]]))
    for n in names:
        m, taxonomy = results[n]["metrics"], results[n]["taxonomy"]
        images = plots(n, m, taxonomy)
        parts.append(f"<h2>{html.escape(n)}</h2><p>model: <code>{html.escape(json.dumps(m['model']))}</code></p>")
        parts.append(table(["type", "precision", "recall", "F1", "support"],
                           [[t, v["precision"], v["recall"], v["f1"], v["support"]] for t, v in m["per_type"].items()]))
        parts.append("".join(f'<img alt="{k}" src="data:image/png;base64,{v}">' for k, v in images.items()))
        parts.append("<h3>Worst examples</h3>" + table(
            ["id", "lang", "gold", "predicted", "coop gold", "coop p", "text"],
            [[w["id"], w["lang"], ", ".join(w["gold"]), ", ".join(w["predicted"]), w["cooperation_gold"],
              w["cooperation_prob"], w["text"][:200]] for w in m["worst"]]))
    style = ("<style>body{font-family:sans-serif;max-width:1100px;margin:auto}table{border-collapse:collapse;"
             "margin:8px 0}td,th{border:1px solid #ccc;padding:3px 6px;font-size:13px}img{max-width:48%}</style>")
    return f"<!doctype html><html><head><meta charset='utf-8'><title>cooplens eval</title>{style}</head><body>" \
           + "".join(parts) + "</body></html>"


def actors_gold(path: str | None) -> dict:
    if not path or not Path(path).exists():
        return {}
    return {row["id"]: row["actors"] for row in map(json.loads, Path(path).read_text(encoding="utf-8").splitlines())}


def run_cli(args) -> int:
    import sys

    from cooplens.models.labelled import read_rows

    rows = read_rows(Path(args.data))
    if args.split:
        rows = [r for r in rows if r["split"] == args.split]
    if args.real_only:
        rows = [r for r in rows if is_real_news(r)]
    if args.limit:
        rows = rows[:args.limit]
    results = {}
    for model in args.model or [None]:
        name = model or "default"
        settings = assigned_settings(args.set)
        results[name] = evaluate_model(model, rows, args.device, args.summarizer, settings,
                                       actors_gold(args.actors or f"data/corpus/real/actors_{args.split}.jsonl"))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    command = "cooplens " + " ".join(sys.argv[1:])
    (out / "metrics.json").write_text(json.dumps({n: r["metrics"] for n, r in results.items()}, indent=2,
                                                 ensure_ascii=False) + "\n", encoding="utf-8")
    (out / "report.html").write_text(html_report(results, args.data, command), encoding="utf-8")
    for name, r in results.items():            # per article, for paired comparisons between models
        (out / f"predictions_{Path(name).name}.jsonl").write_text("".join(
            json.dumps(p, ensure_ascii=False) + "\n" for p in r["predictions"]), encoding="utf-8")
    for name, r in results.items():
        print(name, json.dumps(r["metrics"]["summary"]))
        for variant in ("shipped", "digest", "key_sentences") if r["metrics"]["summaries"] else ():
            block = r["metrics"]["summaries"][variant]
            print(f"  summary {variant}:", json.dumps(block["overall"]), "faithfulness", block["faithfulness_rate"])
    print(f"report: {out / 'report.html'}")
    return 0
