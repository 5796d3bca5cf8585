"""Who did what with whom: the parties of the reported cooperation, each with its English name, its role and where it
stands in the source. Parties come from the gazetteer (data/gazetteer.yaml); roles from the decision (signatories
of an agreement, participants of a meeting) and, for aid, treatment and training, from the words next to each name
that say who gives and who receives (data/roles.yaml: "from X" / "to Y" in each language).

Only parties named in the sentences the analysis rests on (the lead and the evidence of the predicted types) are
actors; a city in a dateline or a country named in passing elsewhere is not."""
import re
from functools import lru_cache
from importlib import resources
from pathlib import Path

import yaml

from cooplens.models.parties import WORD_CHAR
from cooplens.models.text import normalize

GIVING_TYPES = {"aid_donation", "health_services", "training_education"}
LEAD_SENTENCES = 2


@lru_cache(maxsize=1)
def role_cues() -> dict:
    """role -> language -> (regex before the name, regex after it)."""
    raw = yaml.safe_load(Path(str(resources.files("cooplens.data") / "roles.yaml")).read_text(encoding="utf-8"))
    cues = {}
    for role, by_lang in raw.items():
        for lang, sides in by_lang.items():
            before = [re.escape(normalize(w, lang)) for w in sides.get("before", [])]
            after = [re.escape(normalize(w, lang)) for w in sides.get("after", [])]
            cues.setdefault(role, {})[lang] = (
                re.compile(rf"(?:^|\s)(?:{'|'.join(before)})(?:\s+\S+)?\s*$", re.I) if before else None,
                re.compile(rf"^{WORD_CHAR}{{0,4}}[\s\-]*(?:{'|'.join(after)})(?!{WORD_CHAR})", re.I) if after else None)
    return cues


def cue_role(text: str, start: int, end: int, lang: str) -> str | None:
    """giver / receiver when the words around this mention say so."""
    before, after = text[max(0, start - 40):start], text[end:end + 40]
    for role in ("giver", "receiver"):
        left, right = role_cues().get(role, {}).get(lang, (None, None))
        if (left and left.search(before)) or (right and right.search(after)):
            return role
    return None


def extract_actors(prepared, mentions: list, predicted_types: tuple, evidence: list) -> list:
    """Actors of one analysed article: [{"name", "kind", "country", "role", "source_text", "start", "end"}], first
    mention of each party inside the lead or an evidence sentence, in order of appearance."""
    spans = list(prepared.spans[:LEAD_SENTENCES]) + [(e.start, e.end) for e in evidence]
    signing = [(e.start, e.end) for e in evidence if e.type == "agreement_signing"]
    giving = GIVING_TYPES & set(predicted_types)
    actors, seen = [], set()
    for party, start, end in mentions:
        if party in seen or not any(a <= start < b for a, b in spans):
            continue
        seen.add(party)
        role = cue_role(prepared.text, start, end, prepared.language.code) if giving else None
        if role is None:
            role = ("signatory" if any(a <= start < b for a, b in signing) else
                    "participant" if predicted_types else "mentioned")
        actors.append({"name": party.en, "kind": party.kind, "country": party.country, "role": role,
                       "source_text": prepared.text[start:end], "start": start, "end": end})
    return actors
