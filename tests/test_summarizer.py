"""The English summarizer: the trainer end to end on tiny random models (decoder-only with LoRA, and seq2seq),
the generative path inside the Analyzer, and the shipped summarizer on a real article."""
import importlib.util
import json
import shutil

import pytest

from conftest import REPO


def small_run(tmp_path, base, tiny_corpus, method) -> dict:
    return {"base_model": str(base), "corpus": str(tiny_corpus), "output": str(tmp_path / f"summarizer-{method}"),
            "method": method, "article_repeats": 1, "negatives_with_summary": 2,
            "parallel_per_source": {"written": 6, "sib200": 4, "bnlp-ptb": 2}, "limit_train": 16, "dev_articles": 2,
            "dev_pairs": 2, "max_source_tokens": 64, "max_target_tokens": 24, "max_new_tokens": 8, "batch_size": 4,
            "device": "cpu"}


@pytest.mark.slow
def test_trainer_lora_on_a_decoder_saves_reloads_and_generates(tmp_path, tiny_gemma, tiny_corpus):
    from cooplens.models.summarizer import GenerativeSummarizer, generator_input
    from cooplens.training.train_summarizer import train

    out = train(small_run(tmp_path, tiny_gemma, tiny_corpus, "lora"))
    settings = json.loads((out / "summarizer.json").read_text())
    assert settings["kind"] == "causal_lm" and settings["method"] == "lora"
    assert (out / "adapter_model.safetensors").exists() and not (out / "model.safetensors").exists()
    assert settings["training"]["n_train"] == 16 and settings["metrics"]["dev_loss"] > 0
    card = (out / "MODEL_CARD.md").read_text()
    for field in ("base model", "data:", "sha256", "labels:", "Metrics", "date:"):
        assert field in card
    summarizer = GenerativeSummarizer(out)          # reload: base + adapter merged
    assert not summarizer.is_seq2seq and summarizer.settings.max_new_tokens == 8
    items = [generator_input(["شهر اصفهان ۷۶ کارتن اقلام بهداشتی دریافت کرد."], "fa", ["Isfahan (Iran)"]),
             generator_input(["Dhaka received 3 ambulances."], "en", ["Dhaka (Bangladesh)"])]
    out_texts = summarizer.generate(items)
    assert len(out_texts) == 2 and all(isinstance(t, str) for t in out_texts)

    # continue that adapter (as summarizer_gemma_lora_real_continued.yaml continues the shipped one)
    from safetensors.torch import load_file

    more = train({**small_run(tmp_path, tiny_gemma, tiny_corpus, "lora"), "init_adapter": str(out),
                  "output": str(tmp_path / "continued")})
    before, after = load_file(str(out / "adapter_model.safetensors")), load_file(str(more / "adapter_model.safetensors"))
    assert before.keys() == after.keys() and any(not before[k].equal(after[k]) for k in before)
    assert "continued from" in (more / "MODEL_CARD.md").read_text()


def test_a_real_news_recipe_trains_on_published_articles_and_a_replay_of_the_others(tmp_path):
    from cooplens.models.labelled import is_real_news, read_rows
    from cooplens.training.train_summarizer import DEFAULTS, build_examples

    rows = read_rows(REPO / "data" / "corpus" / "corpus.jsonl")
    train = [r for r in rows if r["split"] == "train" and r.get("summary_en")]
    picked = ([r for r in train if is_real_news(r)][:5] + [r for r in train if not is_real_news(r)][:6]
              + [r for r in rows if r["split"] == "dev" and is_real_news(r)][:2])
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in picked), encoding="utf-8")
    examples = build_examples({**DEFAULTS, "corpus": str(corpus), "articles": "real", "replay_articles": 2,
                               "article_repeats": 1, "parallel_per_source": {"written": 3}, "dev_articles": 2,
                               "dev_pairs": 2})
    by_id = {r["id"]: r for r in picked}
    summaries = [by_id[e["id"]] for e in examples["train"] if e["task"] == "summary"]
    assert sum(is_real_news(r) for r in summaries) == 5           # every published article of the train split
    assert sum(not is_real_news(r) for r in summaries) == 2       # and the replay, not every written one
    assert sum(e["task"] == "translation" for e in examples["train"]) == 3



def test_a_sentence_recipe_trains_on_pairs_only_and_measures_dev_on_real_news_pairs_first():
    from cooplens.training.parallel import read_parallel
    from cooplens.training.train_summarizer import DEFAULTS, build_examples

    examples = build_examples({**DEFAULTS, "articles": "none", "replay_articles": 0,
                               "parallel_per_source": {"real-news": 1000, "written": 3}, "dev_articles": 1,
                               "dev_pairs": 5})
    real = {p["id"]: p for p in read_parallel(REPO / "data" / "parallel") if p["source"] == "real-news"}
    assert all(e["task"] == "translation" for e in examples["train"])      # no whole-article summaries
    train_ids = [e["id"] for e in examples["train"]]
    assert {i for i in train_ids if i in real} == {i for i, p in real.items() if p["split"] == "train"}
    assert len(train_ids) == len(real) - sum(p["split"] == "dev" for p in real.values()) + 3
    dev_pairs = [e for e in examples["dev"] if e["task"] == "translation"]
    assert len(dev_pairs) == 5 and all(real[e["id"]]["split"] == "dev" for e in dev_pairs)

@pytest.mark.slow
def test_trainer_seq2seq_full_saves_reloads_and_generates(tmp_path, tiny_mt5, tiny_corpus):
    from cooplens.models.summarizer import GenerativeSummarizer
    from cooplens.training.train_summarizer import train

    out = train(small_run(tmp_path, tiny_mt5, tiny_corpus, "full"))
    assert json.loads((out / "summarizer.json").read_text())["kind"] == "seq2seq"
    summarizer = GenerativeSummarizer(out)
    assert summarizer.is_seq2seq
    assert len(summarizer.generate(["Dhaka received 3 ambulances.", "کرمان"])) == 2


def test_generator_input_reads_the_lead_with_ascii_digits_and_names(e5_path):
    from transformers import AutoTokenizer

    from cooplens.models.summarizer import causal_prompt_ids, generator_input

    item = generator_input(["۷۶ کارتن ارسال شد.", "x" * 50, "never read"], "fa", ["Isfahan (Iran)", "Isfahan (Iran)"],
                           max_chars=70)
    assert item["source"].startswith("76 ") and "never read" not in item["source"]
    assert item["names"] == ["Isfahan (Iran)"]
    tokenizer = AutoTokenizer.from_pretrained(e5_path)
    ids = causal_prompt_ids(tokenizer, item, max_source_tokens=3)
    text = " ".join(tokenizer.decode(ids[1:]).split())          # XLM-R's vocabulary reads newlines as spaces
    assert ids[0] == tokenizer.bos_token_id and text.startswith("Persian news article:")
    assert "x" * 20 not in text                                              # the source was cut to 3 tokens
    assert text.endswith("Names in English: Isfahan (Iran) English summary:")   # the cue survives any cut


def test_analyzer_uses_a_generated_summary_and_saves_it_into_its_folder(tmp_path, tiny_mt5, e5_path):
    from cooplens.models.analyzer import Analyzer

    analyzer = Analyzer.from_pretrained(summarizer=str(tiny_mt5))
    result = analyzer.analyze(["Japan donated 3 ambulances to Dhaka city in 2024."])[0]
    assert result.model["summarizer"] == "generated"
    assert result.summary_kind in ("generated", "abstained")   # a random model's output rarely passes the guard
    assert "Japan" in result.digest
    folder = analyzer.save_pretrained(tmp_path / "with-generator")
    assert (folder / "summarizer" / "config.json").exists()     # a summarizer that is not shipped is copied in
    assert json.loads((folder / "cooplens.json").read_text())["summarizer"]["model"] == "summarizer"
    assert Analyzer.from_pretrained(str(folder)).generator.is_seq2seq


@pytest.mark.slow
def test_shipped_summarizer_writes_english_whose_checked_facts_trace_to_the_source(generated_seeds, generating_analyzer):
    from cooplens.models.faithfulness import check_against_source, english_sentences, numbers_in
    from cooplens.models.langid import detect_language
    from cooplens.models.parties import Party
    from cooplens.models.summarizer import facts_sentence

    assert generating_analyzer.model_info["summarizer"] == "generated"
    for key in ("000", "003"):
        result = generated_seeds[key]
        assert result.summary_check and result.summary_check["generated_facts_checked"] >= 0
        assert detect_language(result.summary_en).code == "en", key
        assert 10 <= len(result.summary_en.split()) <= 150
        if result.summary_kind == "generated":         # what the guard let through traces to the source
            report = check_against_source(result.summary_en, result.source_text,
                                          [Party(**p) for p in result.parties],
                                          lambda t: generating_analyzer.gazetteer.find(t, "en"))
            assert report.untraced_numbers == [] and report.untraced_names == [], key
            assert numbers_in(result.summary_en) - {str(i) for i in range(11)} <= numbers_in(result.source_text)
        else:                                          # abstained: says so, quotes the lead, the warning says why
            assert result.summary_kind == "abstained", key
            assert result.summary_en.startswith("No English summary passed the faithfulness checks")
            quoted = ("Key sentence" if result.predicted_types else "Lead sentence") + f" ({result.language}): «"
            assert quoted in result.summary_en
            assert result.summary_check["withheld"] and result.warnings
            assert facts_sentence(result.source_text) in result.summary_en    # the dates and figures, extracted
            if key == "000":                           # the abstention still says who sent what to whom
                who = result.summary_en.split("Who: ", 1)[1].split(". ", 1)[0]
                assert who.startswith("from Guangzhou (China) and Xi'an (China) to ") and "Isfahan (Iran)" in who
        # grounding is scored for each text with a sentence that passed the other checks (elsewhere it could not
        # change what is shown): every shown sentence has its score, every unscored one was withheld for another reason
        check = result.summary_check
        shown = english_sentences(result.summary_en) if result.summary_kind == "generated" else []
        assert all(sentence in check["grounding"] for sentence in shown), key
        for sentence, reasons in zip(check["removed_sentences"], check["removed_because"]):
            if sentence not in check["grounding"]:
                assert reasons and not any(r.startswith("the source does not explain") for r in reasons), key


def test_the_support_check_embeds_its_source_sentences_while_the_generator_writes(generating_analyzer,
                                                                                  generated_seeds, seeds, monkeypatch):
    """The lead and key sentences the guard measures support against are embedded one by one on a thread of their
    own while the generator writes, the checks after it embed what is left, no sentence twice; the answer is the
    one the same article gets in the batch of five. (How many the thread embeds depends on the timing.)"""
    import threading

    from cooplens.models.analyzer import raw_article
    from cooplens.models.text import prepare

    calls = []
    embed = generating_analyzer.embed_for_support
    monkeypatch.setattr(generating_analyzer, "embed_for_support",
                        lambda texts: calls.append((threading.current_thread().name, list(texts))) or embed(texts))
    result = generating_analyzer.analyze([seeds["003"]], ids=["003"])[0]
    assert result.to_dict() == generated_seeds["003"].to_dict()
    sentences = prepare(raw_article(seeds["003"]), generating_analyzer.config.text).sentences
    ahead = [texts for thread, texts in calls if thread == "cooplens-support-embeddings"]
    assert all(len(texts) == 1 and texts[0] in sentences for texts in ahead)
    embedded = [text for _, texts in calls for text in texts]
    assert len(set(embedded)) == len(embedded)


def test_source_sentences_embedded_during_generation_are_the_vectors_embedded_after_it(analyzer, seeds):
    """embedding_meanwhile: while the generator writes (here: until the thread has embedded every sentence), one
    thread at the lowest priority embeds the source sentences, each exactly as every core embeds it afterwards."""
    import time

    import numpy as np

    from cooplens.models.analyzer import SourceSimilarity
    from cooplens.models.summarizer import embedding_meanwhile

    sources = list(dict.fromkeys(s for s in seeds["004"].split("\n") if len(s) > 20))[:8]
    similarity = SourceSimilarity(analyzer.embed_for_support)
    with embedding_meanwhile(similarity, [[sources, sources[:2]]], generator_outside_torch=True):
        deadline = time.monotonic() + 120
        while len(similarity.vectors) < len(sources) and time.monotonic() < deadline:
            time.sleep(0.05)
    assert list(similarity.vectors) == sources
    assert np.array_equal(np.stack([similarity.vectors[s] for s in sources]), analyzer.embed_for_support(sources))


def test_a_summary_cut_by_the_token_limit_ends_at_its_last_full_sentence():
    from cooplens.models.summarizer import complete_sentences

    assert complete_sentences("Iran sent 76 cartons. The two cities agreed to") == "Iran sent 76 cartons."
    assert complete_sentences("Iran sent 76 cartons.") == "Iran sent 76 cartons."
    assert complete_sentences("no full stop at all") == "no full stop at all"
    # a stop after a title ends no sentence: the text was cut inside a name
    assert complete_sentences("Aid arrived. On Tuesday the Civil Surgeon Dr. Md.") == "Aid arrived."
    assert complete_sentences("Aid arrived. Dr. Md. Rezaul Islam said 5 died. He") == \
        "Aid arrived. Dr. Md. Rezaul Islam said 5 died."
    assert complete_sentences("Iran sent aid. The masks came from the U.S.") == "Iran sent aid. The masks came from the U.S."


def test_the_ctranslate2_engine_converts_once_checks_its_cache_and_answers_alike_alone_or_batched(tmp_path,
                                                                                                    tiny_gemma,
                                                                                                    monkeypatch):
    """(That it writes the transformers engine's exact text with the shipped generator is checked on the samples in
    test_determinism.py: on a random tiny model near-tied logits make any two engines disagree.)"""
    from cooplens.models.summarizer import GenerativeSummarizer, generator_input

    monkeypatch.setenv("COOPLENS_CACHE", str(tmp_path / "cache"))
    items = [generator_input(["شهر اصفهان ۷۶ کارتن اقلام بهداشتی دریافت کرد."], "fa", ["Isfahan (Iran)"]),
             generator_input(["Dhaka received 3 ambulances from Kolkata on Monday."], "en", [])]
    fast = GenerativeSummarizer(tiny_gemma, engine="ctranslate2")
    assert fast.engine == "ctranslate2" and fast.model is None      # no torch generator kept in memory
    texts = fast.generate(items, task="translation")
    assert all(texts) and [fast.generate([item], task="translation")[0] for item in items] == texts
    (converted,) = (tmp_path / "cache" / "ctranslate2").iterdir()
    (converted / "model.bin").write_bytes(b"corrupted")
    again = GenerativeSummarizer(tiny_gemma, engine="ctranslate2")          # fails its hash check: converted anew
    assert again.generate(items, task="translation") == texts
    assert (converted / "model.bin").stat().st_size > 1000


def test_english_output_tokens_keep_both_engines_to_the_set_and_score_alike(tmp_path, tiny_gemma, monkeypatch):
    """Decoding over a summarizer folder's output tokens: both engines write only those tokens, the CTranslate2
    model (its vocabulary reordered, its output layer cut) reads every prompt token and scores as the whole model
    renormalised over the set; a folder without the file, or with one made for another tokenizer, decodes over
    every token."""
    import numpy as np
    from transformers import AutoTokenizer

    from cooplens.models.summarizer import (OUTPUT_TOKENS_FILE, GenerativeSummarizer, generator_input,
                                            tokenizer_fingerprint)
    from cooplens.training.output_tokens import english_token_ids

    monkeypatch.setenv("COOPLENS_CACHE", str(tmp_path / "cache"))
    folder = tmp_path / "generator"
    shutil.copytree(tiny_gemma, folder)
    # a folder without the list (a newly trained summarizer) decodes over every token, as does one made for
    # another tokenizer
    assert GenerativeSummarizer(folder, engine="hf", english_tokens=True).output_tokens is None
    tokenizer = AutoTokenizer.from_pretrained(folder)
    ids = english_token_ids(tokenizer, ["Dhaka received 3 ambulances from Kolkata on Monday."], ["health", "aid"])
    assert 300 < len(ids) < len(tokenizer) / 10
    (folder / OUTPUT_TOKENS_FILE).write_text(json.dumps({"tokenizer": "another", "ids": ids}))
    assert GenerativeSummarizer(folder, engine="hf", english_tokens=True).output_tokens is None
    (folder / OUTPUT_TOKENS_FILE).write_text(json.dumps({"tokenizer": tokenizer_fingerprint(tokenizer), "ids": ids}))

    items = [generator_input(["شهر اصفهان ۷۶ کارتن اقلام بهداشتی دریافت کرد."], "fa", ["Isfahan (Iran)"]),
             generator_input(["Dhaka received 3 ambulances from Kolkata on Monday."], "en", [])]
    for engine in ("hf", "ctranslate2"):
        summarizer = GenerativeSummarizer(folder, engine=engine, batch_size=1, english_tokens=True)
        written = []        # the new token ids of every generation
        if engine == "hf":
            generate = summarizer.model.generate

            def recorded(**kw):
                out = generate(**kw)
                written.append(out[:, kw["input_ids"].shape[1]:])
                return out
            summarizer.model.generate = recorded
        else:
            decode = summarizer.decoder.generate

            def recorded_decoding(*args):
                out = decode(*args)        # per prompt, its hypotheses' token ids
                written.append([ids for hypotheses in out for ids in hypotheses])
                return out
            summarizer.decoder.generate = recorded_decoding
        summarizer.generate(items, task="translation")      # a random model's text may have no full sentence
        new = [int(t) for batch in written for row in batch for t in row]
        assert new and set(new) <= set(ids) | {tokenizer.pad_token_id}
    # the restricted CTranslate2 model scores as the whole one does, renormalised over the output tokens: its
    # reordered vocabulary reads the Persian prompt and maps its outputs back (on a random tiny model the two
    # engines differ; the shipped generator's test compares them)
    whole = GenerativeSummarizer(folder, engine="ctranslate2", batch_size=1)
    prompt = whole._prompt_ids(items[0], "translation")
    continuation = tokenizer("Dhaka received 3 ambulances.", add_special_tokens=False)["input_ids"]
    logits = np.asarray(whole.decoder.model.forward_batch([tokenizer.convert_ids_to_tokens(prompt + continuation)]))
    logits = logits[0, len(prompt) - 1:-1][:, ids].astype(np.float64)
    expected = logits - np.log(np.exp(logits - logits.max(-1, keepdims=True)).sum(-1, keepdims=True)) \
        - logits.max(-1, keepdims=True)
    expected = expected[np.arange(len(continuation)), [ids.index(t) for t in continuation]]
    assert np.allclose(summarizer.decoder.logprobs([prompt], [continuation])[0], expected, atol=1e-4)
    # several texts are scored side by side, one per worker, each exactly as it scores alone
    prompts, continuations = [prompt, prompt[:6], prompt, prompt[:9]], [continuation, continuation[:3]] * 2
    together = summarizer.decoder.logprobs(prompts, continuations)
    assert all(np.array_equal(summarizer.decoder.logprobs([p], [c])[0], scores)
               for p, c, scores in zip(prompts, continuations, together))


def test_the_llamacpp_adapter_holds_every_lora_tensor_under_its_gguf_name_and_is_cached(tmp_path, monkeypatch):
    """The shipped adapter written for llama.cpp: every PEFT tensor, unchanged, under the name llama.cpp's Gemma 3
    graph looks up (the upstream converter's names); rewritten when its cached file fails the hash check."""
    import gguf
    import numpy as np
    from safetensors.numpy import load_file

    from cooplens.models.llamacpp_engine import lora_gguf

    monkeypatch.setenv("COOPLENS_CACHE", str(tmp_path / "cache"))
    adapter = REPO / "models" / "shipped" / "summarizer-gemma-lora"
    written = lora_gguf(adapter)
    reader = gguf.GGUFReader(str(written))
    tensors = {t.name: np.array(t.data) for t in reader.tensors}
    peft = load_file(str(adapter / "adapter_model.safetensors"))
    assert len(tensors) == len(peft) == 18 * 7 * 2
    modules = {"self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k", "self_attn.v_proj": "attn_v",
               "self_attn.o_proj": "attn_output", "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up",
               "mlp.down_proj": "ffn_down"}
    for layer in range(18):
        for module, name in modules.items():
            for ab in "AB":
                source = peft[f"base_model.model.model.layers.{layer}.{module}.lora_{ab}.weight"]
                assert np.array_equal(tensors[f"blk.{layer}.{name}.weight.lora_{ab.lower()}"],
                                      source.astype(np.float32))
    field = reader.fields["adapter.lora.alpha"]
    assert float(field.parts[field.data[0]][0]) == json.loads((adapter / "adapter_config.json").read_text())["lora_alpha"]
    written.write_bytes(b"corrupted")
    assert lora_gguf(adapter) == written and written.stat().st_size > 1_000_000


def test_the_llamacpp_engine_blocks_the_same_ngrams_as_transformers():
    import torch
    from transformers import NoRepeatNGramLogitsProcessor

    from cooplens.models.llamacpp_engine import banned_tokens

    generator = torch.Generator().manual_seed(0)
    for n in (2, 3, 8):
        for length in (1, 5, 40, 200):
            tokens = torch.randint(0, 6, (1, length), generator=generator)     # a small vocabulary: many repeats
            scores = NoRepeatNGramLogitsProcessor(n)(tokens, torch.zeros(1, 6))
            expected = sorted(set(torch.nonzero(scores[0] == -float("inf")).flatten().tolist()))
            assert sorted(set(banned_tokens(tokens[0].tolist(), n))) == expected


def test_the_llamacpp_engine_writes_the_same_text_alone_batched_and_on_one_or_two_cores():
    """The shipped generator on llama.cpp (the published Q4_K_M GGUF + the adapter): English out, and a prompt's text
    does not depend on the prompts beside it or the number of cores. Runs where `cooplens[llamacpp]` is installed."""
    pytest.importorskip("llama_cpp")
    from cooplens.models.summarizer import GenerativeSummarizer, generator_input

    items = [generator_input(["شهر اصفهان ۷۶ کارتن اقلام بهداشتی از شهر شیان چین دریافت کرد."], "fa",
                             ["Isfahan (Iran)", "Xi'an (China)"]),
             generator_input(["Dhaka received 3 ambulances from Kolkata on Monday."], "en", []),
             generator_input(["ঢাকা ও কলকাতার মধ্যে স্বাস্থ্য সহযোগিতা চুক্তি সই হয়েছে।"], "bn", [])]
    summarizer = GenerativeSummarizer(REPO / "models" / "shipped" / "summarizer-gemma-lora", engine="llama.cpp",
                                      batch_size=1)
    assert summarizer.engine == "llama.cpp" and summarizer.model is None
    texts = summarizer.generate(items, task="translation")
    assert all(texts) and "76" in texts[0] and "Kolkata" in texts[1]
    assert [summarizer.generate([item], task="translation")[0] for item in reversed(items)] == texts[::-1]
    one_core = summarizer.decoder.contexts[:1]
    summarizer.decoder.contexts, summarizer.decoder.free = one_core, list(one_core)
    assert summarizer.generate(items, task="translation") == texts


@pytest.mark.slow
def test_the_guard_finds_the_words_the_source_does_not_explain_alike_on_every_engine():
    """The grounding check with the shipped generator: in a translation with an invented person and agency, an
    invented word is the one the source explains least, below 0 (the shipped threshold); every word of the faithful
    translation is explained; CTranslate2 over the English output tokens (shipped) scores what transformers scores over
    them, and llama.cpp (where installed) finds the invented word, its scores following transformers' over every token."""
    import numpy as np

    from cooplens.models.faithfulness import english_sentences
    from cooplens.models.summarizer import GenerativeSummarizer, generator_input, least_grounded

    item = generator_input(["شهر اصفهان ۷۶ کارتن اقلام بهداشتی از شهر شیان چین دریافت کرد."], "fa",
                           ["Isfahan (Iran)", "Xi'an (China)"])
    texts = ["Isfahan received 76 cartons of health supplies from the Chinese city of Xi'an.",
             "Isfahan received 76 cartons of health supplies from Dr. Ahmad Jameel of the Oman Red Crescent."]
    folder = REPO / "models" / "shipped" / "summarizer-gemma-lora"
    # CTranslate2 over every token is not shipped: the tiny model above checks that it scores as the restricted model
    # does, and converting the real one that way too would put 1.3 GB more on the disk for this test alone
    engines = ["hf", "hf-english", "ctranslate2-english"] + (
        ["llama.cpp"] if importlib.util.find_spec("llama_cpp") else [])
    scored = {}
    for engine in engines:      # "-english": decoding and scoring over the folder's English output tokens
        summarizer = GenerativeSummarizer(folder, engine=engine.removesuffix("-english"), batch_size=1,
                                          english_tokens=engine.endswith("-english"))
        assert summarizer.engine == engine.removesuffix("-english")
        spans = summarizer.grounding([item, item], texts, task="translation")
        (faithful,), (invented,) = (least_grounded(t, s)(english_sentences(t)) for t, s in zip(texts, spans))
        # llama.cpp's 4-bit weights may doubt a faithful word too (on an AMX CPU it scores 'cartons' about -0.5, where
        # transformers gives +0.28): it is held to finding the invented one
        assert (faithful[0] > 0 or engine == "llama.cpp") and invented[0] < 0
        assert invented[1].split("'")[1] in {"Dr", "Ahmad", "Jameel", "Oman", "Red"}, invented
        scored[engine] = np.array([value for s in spans for _, _, value in s])
    assert np.allclose(scored["ctranslate2-english"], scored["hf-english"], atol=1e-3)
    if "llama.cpp" in scored:        # 4-bit weights: close to, not the same as, the fp32 numbers
        assert np.corrcoef(scored["llama.cpp"], scored["hf"])[0, 1] > 0.9


def test_candidates_are_a_beams_best_distinct_translations_whatever_the_batch(tiny_gemma):
    """summarizer.candidates: per sentence a beam's best hypotheses, best first, no two alike, on the shipped
    generator (CTranslate2) and on transformers; a prompt's candidates do not depend on the prompts beside it."""
    from cooplens.models.summarizer import GenerativeSummarizer, generator_input

    items = [generator_input(["شهر اصفهان ۷۶ کارتن اقلام بهداشتی از شهر شیان چین دریافت کرد."], "fa",
                             ["Isfahan (Iran)", "Xi'an (China)"]),
             generator_input(["ঢাকা ও কলকাতার মধ্যে স্বাস্থ্য সহযোগিতা চুক্তি সই হয়েছে।"], "bn", [])]
    shipped = GenerativeSummarizer(REPO / "models" / "shipped" / "summarizer-gemma-lora", engine="ctranslate2",
                                   batch_size=1, english_tokens=True)
    candidates = shipped.generate_candidates(items, task="translation", candidates=4)
    assert [len(c) > 1 and len(set(c)) == len(c) <= 4 and all(c) for c in candidates] == [True, True]
    assert any("76" in text for text in candidates[0])
    assert [shipped.generate_candidates([item], task="translation", candidates=4)[0]
            for item in reversed(items)] == candidates[::-1]
    tiny = GenerativeSummarizer(tiny_gemma)
    assert tiny.engine == "hf"
    assert [len(set(c)) == len(c) <= 3 for c in tiny.generate_candidates(items, task="translation",
                                                                        candidates=3)] == [True, True]


def test_the_guard_shows_the_best_candidate_that_passes_every_check(generating_analyzer, monkeypatch):
    """With several candidates per sentence the guard tries them best first: a candidate that fails a check (here one
    put ahead of the generator's own, with a figure and a place the source does not have) is passed over for the
    next; where every candidate fails, the result abstains and reports why the best one failed."""
    article = ("The Iranian Red Crescent sent 76 cartons of medical supplies to Isfahan University of Medical "
               "Sciences on Monday. The shipment included masks and gloves.")
    invented = "The Iranian Red Crescent sent 900 ambulances to Lima."
    monkeypatch.setattr(generating_analyzer.config.summarizer, "candidates", 2)
    own = generating_analyzer.analyze([article])[0]
    assert own.summary_kind == "generated" and "76" in own.summary_en
    generate = generating_analyzer.generator.generate_candidates
    monkeypatch.setattr(generating_analyzer.generator, "generate_candidates",
                        lambda items, task, candidates: [[invented] + texts
                                                         for texts in generate(items, task, candidates)])
    passed_over = generating_analyzer.analyze([article])[0]
    assert passed_over.summary_en == own.summary_en and invented not in passed_over.summary_check["removed_sentences"]
    monkeypatch.setattr(generating_analyzer.generator, "generate_candidates",
                        lambda items, task, candidates: [[invented] for _ in items])
    withheld = generating_analyzer.analyze([article])[0]
    assert withheld.summary_kind == "abstained" and invented in withheld.summary_check["removed_sentences"]
    assert any("not in the source: 900" in reason for reasons in withheld.summary_check["removed_because"]
               for reason in reasons)
