"""The generative summary path on a tiny randomly initialised mT5 built locally (no download)."""
import json
import shutil

import pytest


@pytest.fixture(scope="module")
def tiny_mt5(tmp_path_factory, e5_path):
    from transformers import AutoTokenizer, MT5Config, MT5ForConditionalGeneration

    folder = tmp_path_factory.mktemp("tiny-mt5")
    tokenizer = AutoTokenizer.from_pretrained(e5_path)        # the XLM-R vocabulary, shared with mT5's family
    config = MT5Config(vocab_size=len(tokenizer), d_model=32, d_kv=8, d_ff=64, num_layers=1, num_heads=2,
                       decoder_start_token_id=tokenizer.pad_token_id, pad_token_id=tokenizer.pad_token_id,
                       eos_token_id=tokenizer.eos_token_id)
    MT5ForConditionalGeneration(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def test_generative_summarizer_generates_from_a_seq2seq_folder(tiny_mt5):
    from cooplens.models.summarizer import GenerativeSummarizer

    summarizer = GenerativeSummarizer(tiny_mt5, max_new_tokens=8)
    assert summarizer.is_seq2seq
    out = summarizer.generate(["شهر اصفهان ۷۶ کارتن اقلام بهداشتی دریافت کرد.", "Dhaka received 3 ambulances."])
    assert len(out) == 2 and all(isinstance(s, str) for s in out)


def test_analyzer_uses_a_generated_summary_and_checks_it(tmp_path, tiny_mt5, analyzer):
    from cooplens.models.analyzer import Analyzer

    folder = tmp_path / "with-generator"
    shutil.copytree(analyzer.folder, folder)
    shutil.copytree(tiny_mt5, folder / "summarizer")
    config = json.loads((folder / "cooplens.json").read_text())
    config["summarizer"] = {"kind": "generated", "path": "summarizer"}
    (folder / "cooplens.json").write_text(json.dumps(config))
    result = Analyzer.from_pretrained(str(folder)).analyze(["Japan donated 3 ambulances to Dhaka city in 2024."])[0]
    assert result.model["summarizer"] == "generated"
    assert result.summary_kind in ("generated", "digest")      # an empty random output falls back to the digest
