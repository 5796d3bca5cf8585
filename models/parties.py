"""Who is named in an article: a multilingual gazetteer (data/gazetteer.yaml) of countries, regions, cities
and organisations, matched in the normalised text and mapped to English names. The digest summary and the
zero-shot scope estimate read from here."""
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import yaml

from cooplens.models.text import normalize

# Languages whose nouns take attached case endings ("ইরানের" = Iran's): allow a short suffix after a name.
SUFFIXING = {"bn", "hi", "tr", "ur", "fa", "ru"}
NO_SPACES = {"zh", "ja"}
# A word character for name boundaries: \w misses Indic vowel signs and Arabic diacritics (category M), so
# "চীন" (China) would match inside "প্রাচীন" (ancient). ZWNJ is word-internal in Persian.
WORD_CHAR = r"[\w\u0300-\u036f\u064b-\u065f\u0670\u0900-\u0dff\u200c]"
# The country whose press usually writes in this language: a single foreign partner then means bilateral.
HOME_COUNTRY = {"fa": "Iran", "bn": "Bangladesh", "ur": "Pakistan", "hi": "India", "vi": "Vietnam",
                "zh": "China", "ru": "Russia", "tr": "Turkey"}


@dataclass(frozen=True)
class Party:
    en: str
    kind: str          # country | province | city | organization
    country: str       # English country name, "international" or "national"

    def display(self) -> str:
        if self.kind in ("city", "province") and self.country not in ("international", "national", self.en):
            return f"{self.en} ({self.country})"
        return self.en


class Gazetteer:
    def __init__(self, entries: list):
        self.entries = entries
        self._patterns = {}

    @classmethod
    def load(cls, path: str | Path | None = None) -> "Gazetteer":
        path = path or Path(str(resources.files("cooplens.data") / "gazetteer.yaml"))
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        return cls(raw["entries"])

    def _pattern(self, lang: str):
        if lang not in self._patterns:
            alias_to_party = {}
            for entry in self.entries:
                party = Party(entry["en"], entry["kind"], entry.get("country", entry["en"]))
                for alias_lang, aliases in entry.get("aliases", {}).items():
                    if alias_lang in (lang, "en"):
                        for alias in aliases:
                            alias_to_party.setdefault(normalize(alias, alias_lang), party)
            alternation = "|".join(re.escape(a) for a in sorted(alias_to_party, key=len, reverse=True) if a)
            if lang in NO_SPACES:
                regex = f"({alternation})"
            else:
                suffix = WORD_CHAR + "{0,4}" if lang in SUFFIXING else ""
                regex = rf"(?<!{WORD_CHAR})({alternation}){suffix}(?!{WORD_CHAR})"
            self._patterns[lang] = (re.compile(regex), alias_to_party)
        return self._patterns[lang]

    def mentions(self, text: str, lang: str) -> list:
        """Every mention as (party, start, end) of the name as written, in order."""
        pattern, alias_to_party = self._pattern(lang)
        return [(alias_to_party[m.group(1)], m.start(1), m.end(1)) for m in pattern.finditer(text)]

    def find(self, text: str, lang: str) -> list:
        """Parties in order of first mention, each once."""
        return distinct_parties(self.mentions(text, lang))


def distinct_parties(mentions: list) -> list:
    """The parties of mentions [(party, start, end)] in order of first mention, each once."""
    return list(dict.fromkeys(party for party, _, _ in mentions))


def estimate_scope(parties: list, lang: str, scopes: tuple) -> dict:
    """Scope evidence from the parties named, over the taxonomy's scopes (the zero-shot model's scope; a trained
    model multiplies its head's probabilities by it). International organisations or 3+ countries: multilateral;
    2 countries, or one foreign country in home-language press: bilateral; otherwise domestic. Soft
    probabilities: it is a heuristic."""
    countries = {p.country if p.kind != "country" else p.en for p in parties} - {"international", "national"}
    international = any(p.country == "international" for p in parties)
    home = HOME_COUNTRY.get(lang)
    if international or len(countries) >= 3:
        choice = "multilateral"
    elif len(countries) == 2 or (len(countries) == 1 and home and home not in countries):
        choice = "bilateral"
    else:
        choice = "domestic"
    return {scope: (0.6 if scope == choice else 0.2) for scope in scopes}
