"""Benchmark: articles/second and peak memory of a cooplens model on this machine.
The sample articles are repeated to --articles articles and analysed as one batch job."""
import json
import platform
import resource
import time
from importlib import resources
from pathlib import Path

import torch


def peak_rss_mib() -> float:
    # ru_maxrss is KiB on Linux
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def summarizer_timing(analyzer, articles: list, batch_size: int) -> dict:
    """What the summary costs: the same articles analysed with and without the generator, batched (as the
    batch CLI runs it) and one at a time (as the web UI runs it)."""
    def seconds(which, texts, size):
        t0 = time.perf_counter()
        results = which.analyze(texts, batch_size=size)
        return time.perf_counter() - t0, results

    digest_only = analyzer.without_generator()
    with_batched, results = seconds(analyzer, articles, batch_size)
    with_single = sum(seconds(analyzer, [a], 1)[0] for a in articles[:4])
    without_batched, _ = seconds(digest_only, articles, batch_size)
    without_single = sum(seconds(digest_only, [a], 1)[0] for a in articles[:4])
    return {"articles": len(articles),
            "batched_seconds_per_summary": round((with_batched - without_batched) / len(articles), 2),
            "single_article_seconds_per_summary": round((with_single - without_single) / min(len(articles), 4), 2),
            "mean_words_per_summary": round(sum(len(r.summary_en.split()) for r in results) / len(results), 1)}


def main(args) -> int:
    from cooplens.models.analyzer import Analyzer

    samples = [p.read_text(encoding="utf-8")
               for p in sorted(Path(str(resources.files("cooplens.data") / "examples")).glob("*.txt"))]
    articles = [samples[i % len(samples)] for i in range(args.articles)]
    t0 = time.perf_counter()
    analyzer = Analyzer.from_pretrained(args.model, device=args.device, summarizer=args.summarizer)
    load_s = time.perf_counter() - t0
    rss_after_load = peak_rss_mib()
    analyzer.analyze(articles[:2])    # warm-up (first-call allocations)
    t0 = time.perf_counter()
    results = analyzer.analyze(articles, batch_size=args.batch_size)
    elapsed = time.perf_counter() - t0
    numbers = {
        "model": analyzer.model_info["name"],
        "articles": len(articles),
        "mean_chars_per_article": round(sum(map(len, articles)) / len(articles)),
        "seconds": round(elapsed, 2),
        "articles_per_second": round(len(articles) / elapsed, 3),
        "seconds_per_article": round(elapsed / len(articles), 3),
        "load_seconds": round(load_s, 2),
        "peak_rss_mib_after_load": round(rss_after_load),
        "peak_rss_mib": round(peak_rss_mib()),
        "failed": sum(r.error is not None for r in results),
        "device": str(analyzer.classifier.device),
        "torch_threads": torch.get_num_threads(),
        "cpu": platform.processor() or platform.machine(),
    }
    if analyzer.generator:
        numbers["summarizer"] = summarizer_timing(analyzer, articles[:args.summaries], args.batch_size)
    print(json.dumps(numbers, indent=2))
    if args.out:
        Path(args.out).write_text(json.dumps(numbers, indent=2) + "\n")
    return 0
