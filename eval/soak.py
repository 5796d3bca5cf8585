"""Soak / load benchmark of the web server (not a test): start `cooplens serve` on 127.0.0.1, send N requests from M
concurrent API clients, and print latency percentiles, errors and the server's resident memory over time (does it
plateau?). The numbers go into eval/RESULTS.md.

    python -m cooplens.eval.soak --clients 20 --requests 100 --summarizer digest --out eval/results/soak_digest.json
    python -m cooplens.eval.soak --clients 20 --requests 20 --out eval/results/soak_generator.json
"""
import argparse
import json
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

from cooplens.data import sample_articles


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def articles() -> list:
    """The sample articles, and variants of them (cut, reordered) so that requests are not all identical."""
    variants = []
    for text in sample_articles():
        paragraphs = [p for p in text.split("\n") if p.strip()]
        variants += [text, "\n".join(paragraphs[: max(1, len(paragraphs) // 2)]), "\n".join(reversed(paragraphs))]
    return variants


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--requests", type=int, default=100, help="requests per client")
    parser.add_argument("--summarizer", default=None, help="'digest' for the classifier alone")
    parser.add_argument("--concurrency", type=int, default=4, help="the server's --concurrency")
    parser.add_argument("--sample-seconds", type=float, default=5.0, help="how often the server's RSS is read")
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)

    from gradio_client import Client

    port = free_port()
    command = [sys.executable, "-m", "cooplens.serve.cli", "serve", "--port", str(port), "--concurrency",
               str(args.concurrency), "--max-queue", str(args.clients * 2)]
    if args.summarizer:
        command += ["--summarizer", args.summarizer]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}/"
        for _ in range(600):
            try:
                Client(url, verbose=False)
                break
            except Exception:
                time.sleep(1)
        rss_samples = [(0.0, rss_mib(server.pid))]
        latencies, errors, lock, texts = [], [], threading.Lock(), articles()
        started = time.perf_counter()
        done = threading.Event()

        def sample():
            while not done.wait(args.sample_seconds):
                rss_samples.append((round(time.perf_counter() - started, 1), round(rss_mib(server.pid))))

        def client(k: int):
            api = Client(url, verbose=False)
            for i in range(args.requests):
                t0 = time.perf_counter()
                try:
                    raw = api.predict(texts[(k * args.requests + i) % len(texts)], api_name="/analyze")[-1]
                    ok = raw.get("error") is None
                except Exception as err:         # a refused or failed call is counted, not fatal
                    ok, raw = False, {"error": repr(err)}
                with lock:
                    latencies.append(time.perf_counter() - t0)
                    if not ok:
                        errors.append(raw.get("error"))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        threads = [threading.Thread(target=client, args=(k,)) for k in range(args.clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        done.set()
        rss_samples.append((round(time.perf_counter() - started, 1), round(rss_mib(server.pid))))
        wall = time.perf_counter() - started
        quarter = max(1, len(rss_samples) // 4)
        numbers = {
            "clients": args.clients, "requests": len(latencies), "summarizer": args.summarizer or "shipped",
            "server_concurrency": args.concurrency, "wall_seconds": round(wall, 1),
            "requests_per_second": round(len(latencies) / wall, 3),
            "latency_p50_s": round(float(np.percentile(latencies, 50)), 2),
            "latency_p95_s": round(float(np.percentile(latencies, 95)), 2),
            "errors": len(errors), "error_examples": errors[:3],
            "rss_mib_start": round(rss_samples[0][1]), "rss_mib_peak": round(max(r for _, r in rss_samples)),
            "rss_mib_end": round(rss_samples[-1][1]),
            # plateau: the last quarter of the run grows by no more than this over its first three quarters' peak
            "rss_growth_last_quarter_mib": round(max(r for _, r in rss_samples[-quarter:])
                                                 - max(r for _, r in rss_samples[:-quarter])),
            "rss_over_time": rss_samples,
        }
        print(json.dumps({k: v for k, v in numbers.items() if k != "rss_over_time"}, indent=2))
        if args.out:
            Path(args.out).write_text(json.dumps(numbers, indent=2) + "\n")
    finally:
        server.terminate()
        server.wait(timeout=30)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
