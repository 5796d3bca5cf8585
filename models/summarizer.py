"""English summaries.

- DigestSummarizer: the honest offline default until a trained generator ships. It does not translate: it
  states in English who is named (gazetteer), what kind of cooperation the classifier found, the dates
  and figures in the text, and quotes the key source sentence. The UI labels it "structured digest".
- GenerativeSummarizer: any fine-tuned seq2seq (mT5, mBART, NLLB...) or decoder-only checkpoint folder or
  hub id; source article (its key sentences first) -> English summary, greedy or small beam, batched.
"""
import re
from pathlib import Path

import torch

from cooplens.models.encoder import pick_device
from cooplens.models.text import ascii_digits

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
MAX_PARTIES = 5


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


def join_names(names: list) -> str:
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


class DigestSummarizer:
    kind = "digest"

    def summarize(self, text: str, lang: str, parties: list, type_labels: list, scope: str | None,
                  key_sentence: str) -> str:
        language = LANGUAGE_NAMES.get(lang, lang)
        named = join_names([p.display() for p in parties[:MAX_PARTIES]]) or "parties the gazetteer does not know"
        countries = list(dict.fromkeys(p.en if p.kind == "country" else p.country for p in parties
                                       if p.country not in ("international", "national")))
        if len(countries) > 1 or len(parties) > MAX_PARTIES:
            named += f" (countries: {', '.join(countries)})" if countries else ""
        if type_labels:
            what = ", ".join(label.lower() for label in type_labels)
            first = f"{language}-language report of {scope + ' ' if scope else ''}cooperation ({what}) involving {named}."
        else:
            first = f"{language}-language report; no cooperation detected. Named: {named}."
        sentences = [first]
        dates = dates_in(text)
        figures = figures_in(text)
        facts = []
        if dates:
            facts.append("dates: " + ", ".join(dates))
        if figures:
            facts.append("figures: " + ", ".join(figures))
        if facts:
            sentences.append("The text gives " + "; ".join(facts) + ".")
        if key_sentence:
            quote = key_sentence if len(key_sentence) <= MAX_QUOTE_CHARS else key_sentence[:MAX_QUOTE_CHARS] + "…"
            sentences.append(f"Key sentence ({lang}): «{quote}»")
        return " ".join(sentences)


class GenerativeSummarizer:
    """A fine-tuned generator folder (or hub id). Seq2seq if its config is encoder-decoder, else causal LM."""

    kind = "generated"

    def __init__(self, name_or_path: str | Path, device: str | None = None, max_source_tokens: int = 512,
                 max_new_tokens: int = 96, num_beams: int = 1, prompt: str = "summarize in English: "):
        from transformers import AutoConfig, AutoModelForCausalLM, AutoModelForSeq2SeqLM, AutoTokenizer

        self.device = pick_device(device)
        config = AutoConfig.from_pretrained(name_or_path)
        self.is_seq2seq = bool(getattr(config, "is_encoder_decoder", False))
        self.tokenizer = AutoTokenizer.from_pretrained(name_or_path)
        if not self.is_seq2seq:
            self.tokenizer.padding_side = "left"      # decoder-only batches must end at the prompt
            if self.tokenizer.pad_token is None:
                self.tokenizer.pad_token = self.tokenizer.eos_token
        loader = AutoModelForSeq2SeqLM if self.is_seq2seq else AutoModelForCausalLM
        self.model = loader.from_pretrained(name_or_path).to(self.device).eval()
        self.max_source_tokens = max_source_tokens
        self.max_new_tokens = max_new_tokens
        self.num_beams = num_beams
        self.prompt = prompt

    def source_text(self, sentences: list, key_indices: list) -> str:
        """Key sentences first (they carry the cooperation), then the rest in order, cut by the tokenizer."""
        keys = set(key_indices)
        ordered = [sentences[i] for i in key_indices] + [s for i, s in enumerate(sentences) if i not in keys]
        return " ".join(ordered)

    @torch.inference_mode()
    def generate(self, sources: list, batch_size: int = 8) -> list:
        outputs = []
        for start in range(0, len(sources), batch_size):
            chunk = [self.prompt + s for s in sources[start:start + batch_size]]
            if not self.is_seq2seq:
                chunk = [c + "\nEnglish summary:" for c in chunk]
            batch = self.tokenizer(chunk, padding=True, truncation=True, max_length=self.max_source_tokens,
                                   return_tensors="pt").to(self.device)
            generated = self.model.generate(**batch, max_new_tokens=self.max_new_tokens, num_beams=self.num_beams,
                                            do_sample=False)
            if not self.is_seq2seq:
                generated = generated[:, batch["input_ids"].shape[1]:]
            outputs.extend(t.strip() for t in self.tokenizer.batch_decode(generated, skip_special_tokens=True))
        return outputs
