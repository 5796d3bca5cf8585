"""`cooplens bench`: speed, memory and quality of the pipeline's engines side by side, in one run.

Each engine runs in its own process (so that peak memory is its own) over the same real dev articles: load time,
articles/s as a batch job, single-article latency (the web UI's case: until the classification is shown, and
until the whole result with the summary), peak RSS, and its answers. The real dev articles are short (many are a
headline and lead: about 600 characters on average), so single-article latency is also timed on the five full-length
sample articles (2,000 to 8,100 characters), which is what a user pasting a whole article waits for. The first engine
is the reference (HF fp32); the others are compared with it: type decisions that flip, and chrF++ of the English
summaries against the hand-written references (an engine is only worth its speed within 1 chrF++ point and 1 % of
flipped labels, issue #12).
"""
import json
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from cooplens.data import sample_articles


def engine(classifier_dtype: str, generator: str, batch_size: int = 8, english_tokens: bool = False,
           candidates: int = 1, **summarizer) -> dict:
    """One engine's settings: the encoder's dtype, the generator engine, its decoding batch, the candidate
    translations per sentence and other options."""
    return {"classifier.dtype": classifier_dtype, "summarizer.engine": generator,
            "summarizer.batch_size": batch_size, "summarizer.english_tokens": english_tokens,
            "summarizer.candidates": candidates, **{f"summarizer.{k}": v for k, v in summarizer.items()}}


ENGINES = {      # every engine names all the settings it depends on: a model folder's own choice never leaks in
    "hf-fp32": engine("float32", "hf", dtype="float32"),
    "hf-bf16": engine("bfloat16", "hf", dtype="bfloat16"),
    "hf-bf16-encoder": engine("bfloat16", "hf", dtype="float32"),
    "ct2-fp32": engine("float32", "ctranslate2", quantization="float32"),
    "ct2-int8": engine("float32", "ctranslate2", quantization="int8"),
    "ct2-int8-bf16-encoder": engine("bfloat16", "ctranslate2", quantization="int8"),
    # "-alone": every prompt decoded on its own (one per core), so the text cannot depend on the batch
    "ct2-fp32-alone": engine("float32", "ctranslate2", batch_size=1, quantization="float32"),
    "ct2-int8-alone": engine("float32", "ctranslate2", batch_size=1, quantization="int8"),
    # "-english": the output layer cut to the summarizer's English tokens (training/output_tokens.py)
    "ct2-fp32-english": engine("float32", "ctranslate2", batch_size=1, english_tokens=True, quantization="float32"),
    "ct2-int8-english": engine("float32", "ctranslate2", batch_size=1, english_tokens=True, quantization="int8"),
    "ct2-fp32-english-bf16-encoder": engine("bfloat16", "ctranslate2", batch_size=1, english_tokens=True,
                                            quantization="float32"),
    # the default model as shipped: three candidate translations per sentence, the first that passes the guard shown
    "ct2-fp32-english-bf16-encoder-3-candidates": engine("bfloat16", "ctranslate2", batch_size=1, english_tokens=True,
                                                         candidates=3, quantization="float32"),
    "ct2-int8-english-bf16-encoder": engine("bfloat16", "ctranslate2", batch_size=1, english_tokens=True,
                                            quantization="int8"),
    "llamacpp-q4": engine("float32", "llama.cpp", batch_size=1),
    "llamacpp-q4-bf16-encoder": engine("bfloat16", "llama.cpp", batch_size=1),
}


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024      # KiB on Linux


def bench_articles(n: int) -> list:
    """The first n real-news dev articles (with their reference summaries), in corpus order."""
    from cooplens.models.labelled import is_real_news, read_rows

    rows = [r for r in read_rows("data/corpus/corpus.jsonl") if r["split"] == "dev" and is_real_news(r)]
    return rows[:n]


def timed_stages(analyzer, item) -> tuple[float, float]:
    """(seconds until the classification is shown, seconds until the whole result), as the web UI runs one article."""
    t0 = time.perf_counter()
    for stage, _ in enumerate(analyzer.analyze_stages(item)):
        if stage == 0:
            first = time.perf_counter() - t0
    return first, time.perf_counter() - t0


def run_engine(args) -> dict:
    """One engine in this process: timings, memory and answers."""
    import torch

    from cooplens.models.analyzer import Analyzer

    rows = bench_articles(args.articles)
    items = [{"title": r.get("title"), "text": r["text"]} for r in rows]
    t0 = time.perf_counter()
    analyzer = Analyzer.from_pretrained(args.model, device=args.device, summarizer=args.summarizer,
                                        settings=ENGINES[args.one])
    load = time.perf_counter() - t0
    analyzer.analyze(items[:2])                    # warm-up: first-call allocations
    t0 = time.perf_counter()
    results = analyzer.analyze(items, batch_size=args.batch_size)
    batched = time.perf_counter() - t0
    first_stages, singles = zip(*[timed_stages(analyzer, item) for item in items[:args.singles]])
    full_texts = sample_articles()        # whole as published
    full = [timed_stages(analyzer, text) for text in full_texts]
    return {"engine": args.one, "model": analyzer.model_info["name"], "summarizer": analyzer.model_info["summarizer"],
            "articles": len(items), "load_seconds": round(load, 2),
            "articles_per_second": round(len(items) / batched, 3),
            "single_article_seconds": round(float(np.median(singles)), 2),
            "single_article_first_stage_seconds": round(float(np.median(first_stages)), 2),
            "articles_mean_characters": round(float(np.mean([len(item["text"]) for item in items]))),
            "full_article_seconds": round(float(np.median([whole for _, whole in full])), 2),
            "full_article_first_stage_seconds": round(float(np.median([first for first, _ in full])), 2),
            "full_articles": [{"characters": len(text), "first_stage_seconds": round(first, 2),
                               "seconds": round(whole, 2)} for text, (first, whole) in zip(full_texts, full)],
            "peak_rss_mib": round(peak_rss_mib()), "torch_threads": torch.get_num_threads(),
            "types": [r.predicted_types for r in results], "is_cooperation": [r.is_cooperation for r in results],
            "summaries": [r.summary_en if r.summary_kind == "generated" else "" for r in results],
            "references": [r["summary_en"] for r in rows], "langs": [r["lang"] for r in rows]}


def quality(run: dict, reference: dict, types: tuple) -> dict:
    from cooplens.eval.metrics import summary_metrics

    decisions = [(t in a, c) for a, c in zip(run["types"], run["is_cooperation"]) for t in types]
    reference_decisions = [(t in a, c) for a, c in zip(reference["types"], reference["is_cooperation"]) for t in types]
    chrf = summary_metrics(run["summaries"], run["references"], run["langs"])["overall"]
    return {"label_flips": round(float(np.mean([a != b for a, b in zip(decisions, reference_decisions)])), 4),
            "chrf_pp": chrf["chrf_pp"] if chrf else None,
            "summaries_identical_to_reference": round(float(np.mean([a == b for a, b in zip(
                run["summaries"], reference["summaries"])])), 3)}


def main(args) -> int:
    if args.one:
        print(json.dumps(run_engine(args)))
        return 0
    from cooplens.models.taxonomy import load_taxonomy

    runs = []
    for engine in args.engines:
        command = [sys.executable, "-m", "cooplens.serve.cli", "bench", "--one", engine, "--articles",
                   str(args.articles), "--batch-size", str(args.batch_size), "--singles", str(args.singles)]
        for flag, value in (("--model", args.model), ("--summarizer", args.summarizer), ("--device", args.device)):
            if value:
                command += [flag, value]
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:      # the engine's own error, not only the exit code
            print(done.stderr[-4000:], file=sys.stderr)
            raise SystemExit(f"engine {engine} failed (exit code {done.returncode})")
        runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
    types = load_taxonomy().types
    table = []
    for run in runs:
        row = {k: v for k, v in run.items() if k not in ("types", "is_cooperation", "summaries", "references", "langs")}
        row.update(quality(run, runs[0], types))
        row["speed_vs_reference"] = round(run["articles_per_second"] / runs[0]["articles_per_second"], 2)
        table.append(row)
    report = {"machine": f"{platform.machine()}, {platform.processor() or 'cpu'}", "runs": table}
    print(json.dumps(report, indent=2))
    if args.out:
        Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    return 0
