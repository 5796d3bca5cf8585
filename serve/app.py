"""The Gradio web UI. One Analyzer is loaded at start-up and shared by every request; the queue lets
`concurrency` requests run at once, and the named endpoints (/analyze, /analyze_file) serve API clients."""
import html
import json
import tempfile
from importlib import resources
from pathlib import Path

import gradio as gr

from cooplens.models.analyzer import Analyzer
from cooplens.serve.batch import BatchInputError, read_inputs, run_batch, write_csv

RTL_LANGS = {"fa", "ar", "ur", "he", "ps", "sd", "ug", "yi"}
CSS = "mark.coop-evidence{background:#ffe58a;padding:0 2px;border-radius:3px} .coop-source{white-space:pre-wrap;line-height:1.7}"


def example_articles() -> list:
    folder = Path(str(resources.files("cooplens.data") / "examples"))
    return [[p.read_text(encoding="utf-8")] for p in sorted(folder.glob("*.txt"))]


def highlighted_source(text: str, evidence: list, lang: str) -> str:
    """The source with evidence sentences marked; dir=rtl for Persian/Arabic/Urdu so it reads correctly."""
    marked = html.escape(text)
    for item in sorted({e["sentence"]: e for e in evidence}.values(), key=lambda e: -len(e["sentence"])):
        sentence = html.escape(item["sentence"])
        marked = marked.replace(sentence, f'<mark class="coop-evidence" title="{html.escape(item["type"])}">{sentence}</mark>', 1)
    direction = "rtl" if lang in RTL_LANGS else "auto"
    return f'<div class="coop-source" dir="{direction}">{marked}</div>'


def render(result: dict, prepared_text: str) -> tuple:
    if result.get("error"):
        return {}, f"**Could not analyse this text:** {result['error']}", "", "", result
    verdict = (f"**Cooperation:** {'yes' if result['is_cooperation'] else 'no'} "
               f"(p = {result['cooperation_probability']:.2f}) · **scope:** {result['scope'] or '—'} · "
               f"**language:** {result['language']} ({result['language_confidence']:.2f})")
    if result["summary_kind"] == "digest":
        summary = (f"{verdict}\n\n**Structured English digest** (not a translation: parties, types, dates and "
                   f"figures found in the text)\n\n{result['summary_en']}")
    else:
        summary = (f"{verdict}\n\n**Generated English summary** (machine-written by a small model; its numbers "
                   f"and known names were checked against the source)\n\n{result['summary_en']}"
                   f"\n\n**Structured digest** (extracted, not generated)\n\n{result['digest']}")
    if result["warnings"]:
        summary += "\n\n" + "\n".join(f"⚠️ {w}" for w in result["warnings"])
    # ✓ marks the types over their threshold: the bar length alone does not say which were predicted
    probabilities = {("✓ " if t["predicted"] else "") + t["name"]: t["probability"] for t in result["types"]}
    evidence = "\n".join(f"- **{e['type']}** ({e['score']:.2f}): <span dir=\"auto\">{html.escape(e['sentence'])}</span>"
                         for e in result["evidence"]) or "_no type predicted_"
    return probabilities, summary, evidence, highlighted_source(prepared_text, result["evidence"], result["language"]), result


def build_app(analyzer: Analyzer) -> gr.Blocks:
    from cooplens.models.text import InputError, prepare

    def analyze(text: str):
        result = analyzer.analyze([text or ""])[0].to_dict()
        try:
            prepared_text = prepare(text or "", result["language"] or None).text
        except InputError:
            prepared_text = ""
        return render(result, prepared_text)

    def analyze_file(path: str):
        if not path:
            raise gr.Error("upload a .txt, .csv or .jsonl file")
        try:
            rows = read_inputs(path)
        except BatchInputError as err:
            raise gr.Error(str(err))
        out = Path(tempfile.mkdtemp(prefix="cooplens-")) / (Path(path).stem + "_cooplens.jsonl")
        counts = run_batch(analyzer, rows, out, progress=False)
        write_csv(out, out.with_suffix(".csv"))
        records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
        table = [[r["id"], r.get("language", ""), ";".join(r.get("predicted_types") or []), r.get("scope") or "",
                  r.get("error") or ""] for r in records]
        note = f"{counts['analysed']} analysed, {counts['failed']} failed of {counts['total']} rows"
        return [str(out), str(out.with_suffix(".csv"))], table, note

    with gr.Blocks(title="cooplens") as app:
        gr.Markdown("# cooplens\nWhat cooperation does a news article report? Paste an article in any language "
                    "(Persian and Bengali first) or upload a file. Model: "
                    f"`{analyzer.model_info['name']}` ({analyzer.model_info['classifier']} classifier, "
                    f"{analyzer.model_info['summarizer']} summary).")
        with gr.Tab("Article"):
            with gr.Row():
                with gr.Column(scale=1):
                    text = gr.Textbox(label="Article text (title optional)", lines=14, rtl=False,
                                      placeholder="Paste a news article…")
                    button = gr.Button("Analyse", variant="primary")
                    gr.Examples(example_articles(), inputs=[text], label="Sample articles (4 Persian, 1 Bengali)")
                with gr.Column(scale=1):
                    probabilities = gr.Label(label="Cooperation types (calibrated probability; ✓ = predicted)",
                                             num_top_classes=8, show_heading=False)
                    summary = gr.Markdown()
                    evidence = gr.Markdown(label="Evidence")
            source = gr.HTML(label="Source with evidence highlighted")
            with gr.Accordion("Full result (JSON)", open=False):
                raw = gr.JSON()
            button.click(analyze, inputs=[text], outputs=[probabilities, summary, evidence, source, raw],
                         api_name="analyze")
        with gr.Tab("Batch file"):
            upload = gr.File(label=".txt, .csv (column 'text') or .jsonl (field 'text')", type="filepath")
            run = gr.Button("Analyse file", variant="primary")
            note = gr.Markdown()
            files = gr.File(label="Results (.jsonl and .csv)", file_count="multiple")
            table = gr.Dataframe(headers=["id", "language", "types", "scope", "error"], label="Rows")
            run.click(analyze_file, inputs=[upload], outputs=[files, table, note], api_name="analyze_file")
    return app


def launch(model: str | None = None, host: str = "127.0.0.1", port: int = 7860, device: str | None = None,
           concurrency: int = 4, block: bool = True, summarizer: str | None = None):
    analyzer = Analyzer.from_pretrained(model, device=device, summarizer=summarizer)
    app = build_app(analyzer)
    # Several users at once (Gradio's default limit is 1); the model is shared, torch releases the GIL.
    app.queue(default_concurrency_limit=concurrency)
    app.launch(server_name=host, server_port=port, prevent_thread_lock=not block, css=CSS, show_error=True)
    return app
