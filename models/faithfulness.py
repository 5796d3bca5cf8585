"""Faithfulness of an English summary to its source: every number and every named party in the summary must
be traceable to the source text. Small generators fail exactly there, so the Analyzer guards generated text:
a sentence carrying a number or a party the source does not have is dropped, the result's warnings say what was
removed, and a generation with no clean sentence is withheld (the digest is shown instead).

A party counts as traceable when the gazetteer finds it in the source, or when it is the country of a place
found there ("Isfahan" in the source makes "Iran" traceable). Names the gazetteer does not know (people, most
organisations) cannot be checked this way; the guard says nothing about them."""
import re
from dataclasses import dataclass, field

from cooplens.models.text import ascii_digits

# English sentence ends, not after a title or an initial ("Dr. Ali", "U.N. agencies")
ENGLISH_SENTENCE_END = re.compile(r"(?<!\bDr\.)(?<!\bMr\.)(?<!\bMs\.)(?<!\bMrs\.)(?<!\bProf\.)(?<!\bNo\.)(?<!\bSt\.)"
                                  r"(?<!\b[A-Z]\.)(?<=[.!?])\s+(?=[A-Z0-9\"'(])")
NUMBER = re.compile(r"\d+(?:[.,/]\d+)*")
ORDINAL_OR_SMALL = {str(i) for i in range(0, 11)}   # "two sides", list numbering: too common to flag


def numbers_in(text: str) -> set:
    """Numbers as digit strings (thousands separators dropped; Persian/Bengali digits read as ASCII)."""
    found = set()
    for raw in NUMBER.findall(ascii_digits(text).replace("٬", ",").replace("٫", ".")):
        found.add(raw.replace(",", ""))
        found.update(re.split(r"[./]", raw.replace(",", "")))   # "1398/07/30" also contains 1398, 07, 30
    return {n.lstrip("0") or "0" for n in found if n}


@dataclass
class FaithfulnessReport:
    numbers_checked: int = 0
    names_checked: int = 0
    untraced_numbers: list = field(default_factory=list)
    untraced_names: list = field(default_factory=list)

    @property
    def faithful_share(self) -> float:
        total = self.numbers_checked + self.names_checked
        bad = len(self.untraced_numbers) + len(self.untraced_names)
        return 1.0 if total == 0 else (total - bad) / total

    def warnings(self) -> list:
        out = []
        if self.untraced_numbers:
            out.append("summary has numbers not found in the source: " + ", ".join(self.untraced_numbers))
        if self.untraced_names:
            out.append("summary names parties not found in the source: " + ", ".join(self.untraced_names))
        return out


def check_faithfulness(summary: str, source: str, source_party_names: set, summary_party_names: set) -> FaithfulnessReport:
    """source_party_names / summary_party_names: English names the gazetteer found in each text."""
    report = FaithfulnessReport()
    source_numbers = numbers_in(source)
    for number in sorted(numbers_in(summary)):
        if number in ORDINAL_OR_SMALL:
            continue
        report.numbers_checked += 1
        if number not in source_numbers:
            report.untraced_numbers.append(number)
    for name in sorted(summary_party_names):
        report.names_checked += 1
        if name not in source_party_names:
            report.untraced_names.append(name)
    return report


def check_against_source(summary: str, source: str, source_parties: list, find_english_parties) -> FaithfulnessReport:
    """check_faithfulness with the gazetteer's view of traceable parties: those found in the source and their
    countries."""
    traceable = {p.en for p in source_parties} | {p.country for p in source_parties}
    return check_faithfulness(summary, source, traceable, {p.en for p in find_english_parties(summary)})


@dataclass
class GuardedSummary:
    text: str                                     # the clean sentences; "" when none was clean
    generated: FaithfulnessReport                 # of the whole generation, before the guard
    dropped: list = field(default_factory=list)   # (sentence, untraced facts) removed from the generation

    def warnings(self) -> list:
        facts = ", ".join(sorted({fact for _, found in self.dropped for fact in found}))
        if not self.text:
            return [f"generated summary withheld: every sentence had facts not in the source ({facts}); "
                    "showing the digest"]
        if self.dropped:
            return [f"removed {len(self.dropped)} generated sentence(s) with facts not in the source: {facts}"]
        return []

    def as_dict(self) -> dict:
        """What the result records: how many facts the generation stated, which did not trace, what was cut."""
        return {"generated_facts_checked": self.generated.numbers_checked + self.generated.names_checked,
                "generated_untraced": self.generated.untraced_numbers + self.generated.untraced_names,
                "removed_sentences": [sentence for sentence, _ in self.dropped], "withheld": not self.text}


def guard_summary(summary: str, source: str, source_parties: list, find_english_parties) -> GuardedSummary:
    """Keep the generated sentences whose numbers and parties all trace to the source. source_parties: gazetteer
    Parties of the source; find_english_parties: text -> Parties (the gazetteer on English text)."""
    def check(text):
        return check_against_source(text, source, source_parties, find_english_parties)

    kept, dropped = [], []
    for sentence in (s for s in ENGLISH_SENTENCE_END.split(summary.strip()) if s):
        report = check(sentence)
        if report.untraced_numbers or report.untraced_names:
            dropped.append((sentence, report.untraced_numbers + report.untraced_names))
        else:
            kept.append(sentence)
    return GuardedSummary(" ".join(kept), check(summary), dropped)
