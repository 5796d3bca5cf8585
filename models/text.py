"""Text preparation before any model sees an article: validation, normalisation, sentence splitting, numbers.

Everything here is pure Python and deterministic; the models and the faithfulness checks rely on the
same normalised text, so evidence sentences and summaries point at exactly what the classifier read.
"""
import html
import re
import unicodedata
from dataclasses import dataclass, field

from cooplens.models.config import TextSettings
from cooplens.models.langid import Language, detect_language

MIN_LETTERS = 3
MIN_EVIDENCE_WORDS = 5

BIDI_MARKS = dict.fromkeys(map(ord, "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\ufeff"))
# Invisible characters with no meaning in running text (zero-width space, word joiner); a zero-width joiner is
# kept only in Indic scripts, where it shapes conjuncts (Bengali র‍্যাব).
ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u2060\u180e"))
ZWJ = "\u200d"
INDIC = re.compile("[\u0900-\u0dff]")
# Arabic code points that Persian writes with its own letters (yeh, kaf, heh-with-yeh, teh marbuta stays).
ARABIC_TO_PERSIAN = str.maketrans({"\u064a": "\u06cc", "\u0649": "\u06cc", "\u0643": "\u06a9"})
DIGITS = str.maketrans("۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩০১২৩৪৫৬৭৮৯०१२३४५६७८९", "0123456789" * 4)
ZWNJ = "\u200c"

HTML_TAG = re.compile(r"<\s*/?\s*(p|div|span|br|a|html|body|script|style|h[1-6]|li|ul|table|tr|td|img)\b[^>]*>", re.I)
SCRIPT_STYLE = re.compile(r"<(script|style)\b.*?</\1\s*>", re.I | re.S)
ANY_TAG = re.compile(r"<[^>]{1,400}>")
SENTENCE_END = re.compile(r"(?<=[.!?؟।!?。])\s+|\n+|(?<=[.!?؟।。])(?=[^\s\d.,:;)\]»\"'])")
WHITESPACE = re.compile(r"[ \t\u00a0\u2009\u202f]+")
SURROGATE = re.compile("[\ud800-\udfff]")     # lone halves of a UTF-16 pair ("\\ud800" in JSON): not text


class InputError(ValueError):
    """The input cannot be analysed at all (empty, binary, no letters). The message says why."""


@dataclass
class PreparedText:
    text: str                       # normalised full text (what the models read)
    sentences: list                 # normalised sentences, in order
    spans: list                     # (start, end) of each sentence in text
    language: Language
    warnings: list = field(default_factory=list)


def article_text(title, text) -> str:
    """An article as the models read it: the title (when there is one) on its own line above the body."""
    return "\n".join(part for part in (title, text) if part)


def check_not_junk(text: str) -> None:
    """Raise InputError for empty text and binary junk (control bytes, replacement characters)."""
    if text is None or not str(text).strip():
        raise InputError("empty text: nothing to analyse")
    sample = text[:20_000]
    bad = sum(1 for ch in sample if ch == "\ufffd" or (unicodedata.category(ch) == "Cc" and ch not in "\n\r\t"))
    if bad / max(len(sample), 1) > 0.05:
        raise InputError("the input looks like binary data, not text (control bytes or invalid UTF-8)")
    if sum(ch.isalpha() for ch in sample) < MIN_LETTERS:
        raise InputError("the input has no words (only digits, symbols or punctuation)")


def strip_html(text: str) -> tuple[str, bool]:
    if not HTML_TAG.search(text):
        return text, False
    text = SCRIPT_STYLE.sub(" ", text)
    text = re.sub(r"<\s*(br|/p|/div|/h[1-6]|/li|/tr)\s*/?>", "\n", text, flags=re.I)
    return html.unescape(ANY_TAG.sub(" ", text)), True


def without_invisible(text: str) -> str:
    """The text with bidi marks and zero-width characters removed (what language identification reads: a
    zero-width space between letters made fastText read Persian as Finnish)."""
    text = text.translate(BIDI_MARKS).translate(ZERO_WIDTH)
    return text if INDIC.search(text) else text.replace(ZWJ, "")


def normalize(text: str, lang: str | None = None) -> str:
    """Unicode NFKC (what the XLM-R sentencepiece tokenizer applies too), bidi marks stripped,
    Persian letters and ZWNJ made consistent, whitespace tidied. Digits are kept as written."""
    text = without_invisible(unicodedata.normalize("NFKC", text))
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if lang in (None, "fa", "ur") and re.search("[\u0600-\u06ff]", text):
        if lang == "fa" or (lang is None and re.search("[\u067e\u0686\u0698\u06af]", text)):
            text = text.translate(ARABIC_TO_PERSIAN)
        # ZWNJ (half-space) as Persian editors write it: single, with no space beside it ("می‌ شود" ->
        # "می‌شود"), and dropped where no letter follows or precedes.
        text = re.sub(f"[ \\t]*{ZWNJ}+[ \\t]*", ZWNJ, text)
        text = re.sub(f"(?<!\\w){ZWNJ}|{ZWNJ}(?!\\w)", "", text)
    text = WHITESPACE.sub(" ", text)
    text = re.sub(r" *\n *", "\n", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def ascii_digits(text: str) -> str:
    """Persian, Arabic-Indic, Bengali and Devanagari digits -> 0-9 (for numbers, dates, comparisons)."""
    return text.translate(DIGITS)


def split_sentences(text: str) -> list:
    parts = (p.strip(" \t-–—•*·") for p in SENTENCE_END.split(text))
    return [p for p in parts if sum(ch.isalpha() for ch in p) >= MIN_LETTERS]


def informative(sentence: str) -> bool:
    """Long enough to carry a claim: captions like "نظر شما" or "Photo: X" should not become evidence. Only words
    with a letter count, so a dateline or a timestamp ("আজ ১৭ জুলাই সকাল ১১ টায়।", "Wednesday, January 1, 2020 -
    16:39") is not quoted as an article's lead either."""
    if re.search("[\u3040-\u30ff\u4e00-\u9fff]", sentence):
        return sum(ch.isalpha() for ch in sentence) >= 12
    return sum(any(ch.isalpha() for ch in word) for word in sentence.split()) >= MIN_EVIDENCE_WORDS


def sentence_spans(text: str, sentences: list) -> list:
    """Where each sentence stands in the text (they are found in order, so a repeated sentence gets its own span)."""
    spans, position = [], 0
    for sentence in sentences:
        start = text.find(sentence, position)
        if start < 0:               # cannot happen for split_sentences output; kept honest for a cut text
            start = text.find(sentence)
        spans.append((start, start + len(sentence)) if start >= 0 else (0, 0))
        position = max(position, start + len(sentence)) if start >= 0 else position
    return spans


def prepare(raw: str, settings: TextSettings | None = None, lang: str | None = None) -> PreparedText:
    """Validate, clean and normalise one article, and identify its language (after HTML removal, on text cleaned
    of invisible characters) unless lang is given. Raises InputError when it cannot be analysed at all."""
    settings = settings or TextSettings()
    check_not_junk(raw)
    warnings = []
    if SURROGATE.search(raw):
        raw = SURROGATE.sub("\ufffd", raw)
        warnings.append("invalid Unicode (lone surrogate code points) was replaced by \ufffd")
        check_not_junk(raw)
    text, had_html = strip_html(str(raw))
    if had_html:
        warnings.append("HTML markup was removed before analysis")
    language = Language(lang, 1.0) if lang else detect_language(without_invisible(text))
    text = normalize(text, language.code)
    check_not_junk(text)
    if len(text) > settings.max_chars:
        warnings.append(f"long input: {len(text):,} characters; chunked by sentence and the first "
                        f"{settings.max_chars:,} characters analysed")
        text = text[:settings.max_chars]
    sentences = split_sentences(text)
    if len(sentences) > settings.max_sentences:
        warnings.append(f"{len(sentences)} sentences: the first {settings.max_sentences} were analysed")
        sentences = sentences[:settings.max_sentences]
    if not sentences:
        sentences = [text]
    return PreparedText(text=text, sentences=sentences, spans=sentence_spans(text, sentences), language=language,
                        warnings=warnings)


def join_names(names: list) -> str:
    """"A", "A and B", "A, B and C"."""
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]
