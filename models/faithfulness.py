"""Faithfulness of an English summary to its source: every number and every named party in the summary must
be traceable to the source text. Small generators fail exactly there, so the Analyzer flags what is not."""
import re
from dataclasses import dataclass, field

from cooplens.models.text import ascii_digits

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
