"""The Gradio web UI. One Analyzer is loaded at start-up and shared by every request; the queue lets
`concurrency` requests run at once (and holds at most `max_queue` more), and the named endpoints (/analyze,
/analyze_file) serve API clients.

Everything a user pasted or uploaded reaches the page only through html.escape: the summary, the digest, the
evidence and the highlighted source are built as HTML here, never as Markdown around raw text.
"""
import ctypes
import html
import json
import shutil
import sys
import tempfile
from collections import deque
from pathlib import Path

import gradio as gr

from cooplens.models.actors import who_did_what
from cooplens.data import sample_articles
from cooplens.models.analyzer import Analyzer
from cooplens.serve.batch import TEXT_COLUMNS, BatchInputError, read_inputs, run_batch, write_csv

RTL_LANGS = {"fa", "ar", "ur", "he", "ps", "sd", "ug", "yi"}
CSS = ("mark.coop-evidence{background:#ffe58a;padding:0 2px;border-radius:3px} "
       ".coop-source{white-space:pre-wrap;line-height:1.7} .coop-warning{color:#8a4b00}")
KEEP_RESULT_FOLDERS = 32        # batch results of the latest uploads stay downloadable; older ones are deleted
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}


def example_articles() -> list:
    return [[text] for text in sample_articles()]


def escaped(text) -> str:
    return html.escape("" if text is None else str(text))


def highlighted_source(result: dict) -> str:
    """The analysed text with each evidence sentence marked at its offsets; dir=rtl for Persian/Arabic/Urdu."""
    text, spans = result["source_text"], {}
    for item in result["evidence"]:
        spans.setdefault((item["start"], item["end"]), []).append(item["type"])
    pieces, position = [], 0
    for (start, end), types in sorted(spans.items()):
        if start < position:                      # the same sentence cited twice is marked once
            continue
        pieces.append(escaped(text[position:start]))
        pieces.append(f'<mark class="coop-evidence" title="{escaped(", ".join(types))}">{escaped(text[start:end])}</mark>')
        position = end
    pieces.append(escaped(text[position:]))
    direction = "rtl" if result["language"] in RTL_LANGS else "auto"
    return f'<div class="coop-source" dir="{direction}">{"".join(pieces)}</div>'


def summary_html(result: dict) -> str:
    if result.get("error"):
        return f"<p><b>Could not analyse this text:</b> {escaped(result['error'])}</p>"
    verdict = (f"<p><b>Cooperation:</b> {'yes' if result['is_cooperation'] else 'no'} "
               f"(p = {result['cooperation_probability']:.2f}) · <b>scope:</b> {escaped(result['scope'] or '—')} · "
               f"<b>language:</b> {escaped(result['language'])} ({result['language_confidence']:.2f})</p>")
    digest = f"<p><b>Structured digest</b> (extracted, not generated)</p><p dir=\"auto\">{escaped(result['digest'])}</p>"
    if result["summary_kind"] == "pending":
        body = ("<p><b>Generated English summary:</b> <i>being written and checked against the source (a few seconds "
                "on a CPU); the types, evidence and parties above are final</i></p>" + digest)
    elif result["summary_kind"] == "digest":
        body = ("<p><b>Structured English digest</b> (not a translation: parties, types, dates and figures found "
                f"in the text)</p><p dir=\"auto\">{escaped(result['summary_en'])}</p>")
    elif result["summary_kind"] == "abstained":
        # the abstention states the digest's report line, dates, figures and quote itself: no digest beside it
        body = ("<p><b>No generated summary</b> (every sentence the model wrote failed a faithfulness check; the "
                f"warnings say which)</p><p dir=\"auto\">{escaped(result['summary_en'])}</p>")
    else:
        body = ("<p><b>Generated English summary</b> (machine-written by a small model; its numbers and known "
                f"names were checked against the source)</p><p dir=\"auto\">{escaped(result['summary_en'])}</p>" + digest)
    # who did what with whom, from the source's own words (never from the generated text)
    actors = who_did_what(result.get("actors") or [])
    who = f"<p><b>Who:</b> {escaped(actors)}</p>" if actors else ""
    warnings = "".join(f'<li class="coop-warning">⚠️ {escaped(w)}</li>' for w in result["warnings"])
    return verdict + who + body + (f"<ul>{warnings}</ul>" if warnings else "")


def evidence_html(result: dict) -> str:
    items = "".join(f'<li><b>{escaped(e["type"])}</b> ({e["score"]:.2f}): <span dir="auto">{escaped(e["sentence"])}</span></li>'
                    for e in result["evidence"])
    return f"<ul>{items}</ul>" if items else "<p><i>no type predicted</i></p>"


def render(result: dict) -> tuple:
    if result.get("error"):
        return {}, summary_html(result), "", "", result
    # ✓ marks the types over their threshold: the bar length alone does not say which were predicted
    probabilities = {("✓ " if t["predicted"] else "") + t["name"]: t["probability"] for t in result["types"]}
    shown = {k: v for k, v in result.items() if k != "source_text"}
    return probabilities, summary_html(result), evidence_html(result), highlighted_source(result), shown


def release_memory() -> None:
    """Hand freed heap pages back to the OS after a request (glibc keeps them per thread arena otherwise, and the
    server's resident memory creeps up with every new peak; eval/soak.py measures it)."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):      # not glibc: nothing to do
        pass


class ResultFolders:
    """Per-upload result folders: the newest KEEP_RESULT_FOLDERS stay for download, older ones and all of them at
    shutdown are deleted, so uploads do not pile up in /tmp."""

    def __init__(self):
        self.root = Path(tempfile.mkdtemp(prefix="cooplens-results-"))
        self.folders = deque()

    def new(self) -> Path:
        folder = Path(tempfile.mkdtemp(dir=self.root))
        self.folders.append(folder)
        while len(self.folders) > KEEP_RESULT_FOLDERS:
            shutil.rmtree(self.folders.popleft(), ignore_errors=True)
        return folder

    def close(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def build_app(analyzer: Analyzer, max_chars: int = 100_000, max_file_rows: int = 500) -> gr.Blocks:
    folders = ResultFolders()

    def analyze(text: str):
        """The classification as soon as it is ready, then the whole result with the English summary."""
        text = text or ""
        if len(text) > max_chars:
            yield render({"error": f"the text has {len(text):,} characters; this server takes at most {max_chars:,} "
                                   "per article (use `cooplens predict` for longer documents)"})
            return
        try:
            for result in analyzer.analyze_stages(text):
                yield render(result.to_dict(with_source=True))
        finally:
            release_memory()

    def analyze_file(path: str):
        if not path:
            raise gr.Error("upload a .txt, .csv, .tsv, .json, .jsonl or .parquet file")
        notes = []
        try:
            rows = read_inputs(path, notes=notes)
        except BatchInputError as err:
            raise gr.Error(str(err).replace(str(path), Path(path).name))
        except Exception as err:      # whatever a hostile file does, the user gets a message, not a dropped call
            raise gr.Error(f"could not read this file ({type(err).__name__}): is it UTF-8 text, CSV or JSONL?")
        if len(rows) > max_file_rows:
            raise gr.Error(f"the file has {len(rows)} rows; this server takes at most {max_file_rows} per upload "
                           "(use `cooplens predict` for large files)")
        out = folders.new() / (Path(path).stem + "_cooplens.jsonl")
        try:
            counts = run_batch(analyzer, rows, out, progress=False)
        finally:
            release_memory()
        write_csv(out, out.with_suffix(".csv"))
        records = [json.loads(line) for line in out.read_text(encoding="utf-8").split("\n") if line.strip()]
        table = [[r["id"], r.get("language", ""), ";".join(r.get("predicted_types") or []), r.get("scope") or "",
                  r.get("error") or ""] for r in records]
        note = "; ".join([f"{counts['analysed']} analysed, {counts['failed']} failed of {counts['total']} rows"]
                         + [n.replace(Path(path).name, "the file") for n in notes])
        return [str(out), str(out.with_suffix(".csv"))], table, note

    # uploads and served results in Gradio's own cache are deleted after an hour
    with gr.Blocks(title="cooplens", delete_cache=(600, 3600)) as app:
        gr.Markdown("# cooplens\nWhat cooperation does a news article report? Paste an article in any language "
                    "(Persian and Bengali first) or upload a file. Model: "
                    f"`{analyzer.model_info['name']}` ({analyzer.model_info['classifier']} classifier, "
                    f"{analyzer.model_info['summarizer']} summary).")
        with gr.Tab("Article"):
            with gr.Row():
                with gr.Column(scale=1):
                    text = gr.Textbox(label="Article text (title optional)", lines=14, rtl=False,
                                      placeholder="Paste a news article…", max_length=max_chars)
                    button = gr.Button("Analyse", variant="primary")
                    gr.Examples(example_articles(), inputs=[text], label="Sample articles (4 Persian, 1 Bengali)")
                with gr.Column(scale=1):
                    probabilities = gr.Label(label="Cooperation types (calibrated probability; ✓ = predicted)",
                                             num_top_classes=8, show_heading=False)
                    summary = gr.HTML()
                    evidence = gr.HTML(label="Evidence")
            source = gr.HTML(label="Source with evidence highlighted")
            with gr.Accordion("Full result (JSON)", open=False):
                raw = gr.JSON()
            button.click(analyze, inputs=[text], outputs=[probabilities, summary, evidence, source, raw],
                         api_name="analyze")
        with gr.Tab("Batch file"):
            upload = gr.File(label=f".txt, .csv, .tsv, .json, .jsonl or .parquet (the text in a column named "
                                   f"{', '.join(TEXT_COLUMNS[:3])}, …), up to {max_file_rows} rows",
                             type="filepath")
            run = gr.Button("Analyse file", variant="primary")
            note = gr.Markdown()
            files = gr.File(label="Results (.jsonl and .csv)", file_count="multiple")
            table = gr.Dataframe(headers=["id", "language", "types", "scope", "error"], label="Rows")
            run.click(analyze_file, inputs=[upload], outputs=[files, table, note], api_name="analyze_file")
    app.result_folders = folders
    return app


def read_auth(auth: str | None) -> list | None:
    """user:password, or a file of user:password lines -> Gradio's [(user, password)]."""
    if not auth:
        return None
    lines = Path(auth).read_text(encoding="utf-8").splitlines() if Path(auth).is_file() else [auth]
    pairs = [tuple(line.split(":", 1)) for line in lines if ":" in line]
    if not pairs:
        raise SystemExit("error: --auth takes user:password or a file of user:password lines")
    return pairs


def launch(model: str | None = None, host: str = "127.0.0.1", port: int = 7860, device: str | None = None,
           concurrency: int = 4, block: bool = True, summarizer: str | None = None, auth: str | None = None,
           max_queue: int = 64, max_upload_mb: float = 10, max_chars: int = 100_000, max_file_rows: int = 500):
    credentials = read_auth(auth)
    if host not in LOCAL_HOSTS and not credentials:
        print(f"warning: serving on {host} without --auth: anyone who can reach this address can use the model "
              "and upload files. Add --auth user:password, or bind to 127.0.0.1 behind a proxy.", file=sys.stderr)
    analyzer = Analyzer.from_pretrained(model, device=device, summarizer=summarizer)
    app = build_app(analyzer, max_chars=max_chars, max_file_rows=max_file_rows)
    # several users at once (Gradio's default limit is 1); the model is shared, torch releases the GIL
    app.queue(default_concurrency_limit=concurrency, max_size=max_queue)
    try:
        app.launch(server_name=host, server_port=port, prevent_thread_lock=not block, css=CSS, show_error=False,
                   auth=credentials, max_file_size=f"{max_upload_mb}mb")
    finally:
        if block:
            app.result_folders.close()
    return app
