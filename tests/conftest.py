"""Shared fixtures: real packaged weights and shipped models, loaded once for the whole session (loading is the slow
part). `analyzer` is the small shipped model (cooplens-e5-head: e5-small + head) with the digest as its summary: what
every classification, batch and UI test needs, in seconds. `default_analyzer` is the shipped default
(cooplens-gemma-head, EmbeddingGemma-300M: 4x slower per article), for the tests that pin what users get by default.
`generating_analyzer` adds the shipped generator (slow tests only), and `generated_seeds` runs it once over the five
samples for every test that reads generated summaries."""
from pathlib import Path

import pytest

from cooplens.data import EXAMPLES  # noqa: F401 (the sample articles' folder, imported by the tests from here)

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def e5_path() -> str:
    from cooplens.models.fetch import resolve_base_model

    return resolve_base_model("e5-small")


SMALL_MODEL = "cooplens-e5-head"


@pytest.fixture(scope="session")
def generating_analyzer(e5_path):
    from cooplens.models.analyzer import Analyzer

    return Analyzer.from_pretrained(SMALL_MODEL)


@pytest.fixture(scope="session")
def default_analyzer():
    from cooplens.models.analyzer import Analyzer

    return Analyzer.from_pretrained(summarizer="digest")


@pytest.fixture(scope="session")
def analyzer(generating_analyzer):
    return generating_analyzer.without_generator()


@pytest.fixture(scope="session")
def generated_seeds(generating_analyzer, seeds) -> dict:
    """The shipped pipeline's results on the five samples, generated once."""
    return dict(zip(seeds, generating_analyzer.analyze(list(seeds.values()), ids=list(seeds))))


@pytest.fixture(scope="session")
def seeds() -> dict:
    return {p.name[:3]: p.read_text(encoding="utf-8") for p in sorted(EXAMPLES.glob("*.txt"))}


@pytest.fixture(scope="session")
def tiny_corpus(tmp_path_factory) -> Path:
    """A small real slice of the project corpus (every split, both classes) for fast training runs."""
    import json

    rows = [json.loads(line) for line in (REPO / "data" / "corpus" / "corpus.jsonl").read_text(encoding="utf-8").splitlines()]
    picked = []
    for split, n in (("train", 24), ("dev", 10), ("test", 10)):
        part = [r for r in rows if r["split"] == split]
        picked += [r for r in part if r["is_cooperation"]][: n // 2] + [r for r in part if not r["is_cooperation"]][: n // 2]
    path = tmp_path_factory.mktemp("corpus") / "tiny.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in picked), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def tiny_mt5(tmp_path_factory, e5_path):
    """A 1-layer random mT5 with the XLM-R vocabulary (shared with mT5's family): the seq2seq path, no download."""
    import torch
    from transformers import AutoTokenizer, MT5Config, MT5ForConditionalGeneration

    folder = tmp_path_factory.mktemp("tiny-mt5")
    tokenizer = AutoTokenizer.from_pretrained(e5_path)
    config = MT5Config(vocab_size=len(tokenizer), d_model=32, d_kv=8, d_ff=64, num_layers=1, num_heads=2,
                       decoder_start_token_id=tokenizer.pad_token_id, pad_token_id=tokenizer.pad_token_id,
                       eos_token_id=tokenizer.eos_token_id)
    torch.manual_seed(0)        # its random weights must not depend on the tests that ran before
    MT5ForConditionalGeneration(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_gemma(tmp_path_factory, e5_path):
    """A 2-layer random Gemma 3 decoder (the shipped summarizer's architecture) with the XLM-R vocabulary."""
    import torch
    from transformers import AutoTokenizer, Gemma3ForCausalLM, Gemma3TextConfig

    folder = tmp_path_factory.mktemp("tiny-gemma")
    tokenizer = AutoTokenizer.from_pretrained(e5_path)
    config = Gemma3TextConfig(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                              num_attention_heads=2, num_key_value_heads=1, head_dim=16, sliding_window=64,
                              max_position_embeddings=1024, pad_token_id=tokenizer.pad_token_id,
                              bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id)
    torch.manual_seed(0)        # its random weights must not depend on the tests that ran before
    Gemma3ForCausalLM(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder
