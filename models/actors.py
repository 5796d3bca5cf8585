"""Who did what with whom: the parties of the reported cooperation, each with its English name, its role and where it
stands in the source. Parties come from the gazetteer (data/gazetteer.yaml); roles from the words next to each name
(data/roles.yaml: "from X" / "to Y", "delegation of X" / "visit to Y", "organised by X", in each language), looked
for only where the predicted types make that role possible, then from the decision (signatories of an agreement,
participants of anything else).

Only parties named in the sentences the analysis rests on (the lead and the evidence of the predicted types) are
actors; a country named in passing elsewhere is not, nor is a city or province that the words give no role (a
dateline, a venue). Measured against gold actors on the real dev and test splits in eval/RESULTS.md."""
import re
from functools import lru_cache
from importlib import resources
from pathlib import Path

import yaml

from cooplens.models.parties import WORD_CHAR, Party
from cooplens.models.text import join_names, normalize

# Which cue-marked roles each type makes possible, most specific first (an aid story's "from X" wins over "X's
# delegation").
ROLES_BY_TYPE = {"aid_donation": ("giver", "receiver"), "health_services": ("giver", "receiver"),
                 "training_education": ("giver", "receiver", "organiser"),
                 "joint_meeting": ("visitor", "host", "organiser"), "knowledge_exchange": ("visitor", "host"),
                 "public_campaign": ("organiser",), "emergency_response": ("giver", "receiver")}
# Two-sided roles: when the words mark one side only, the parties they leave unmarked are the other side.
OTHER_SIDE = {"giver": "receiver", "receiver": "giver", "visitor": "host", "host": "visitor"}
SHARED_ROLES = {"giver", "receiver", "organiser"}
LEAD_SENTENCES = 2
# A place name followed by a dash, colon or bracket, or bracketed, heads a dateline ("Tehran- ", "(Khulna)
# correspondent", "Moscow, 24 September"): where the story was filed, not a party.
DATELINE_AFTER = re.compile(r"^\s*(?:[-–—:۔(]|[,،]\s*\d)")


@lru_cache(maxsize=1)
def roles_yaml() -> dict:
    return yaml.safe_load(Path(str(resources.files("cooplens.data") / "roles.yaml")).read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def role_cues() -> dict:
    """role -> language -> (regex before the name, regex after it)."""
    cues = {}
    for role, by_lang in roles_yaml().items():
        if role == "joined":
            continue
        for lang, sides in by_lang.items():
            before = [re.escape(normalize(w, lang)) for w in sides.get("before", [])]
            after = [re.escape(normalize(w, lang)) for w in sides.get("after", [])]
            cues.setdefault(role, {})[lang] = (
                re.compile(rf"(?:^|\s)(?:{'|'.join(before)})(?:\s+\S+)?\s*$", re.I) if before else None,
                re.compile(rf"^{WORD_CHAR}{{0,4}}[\s\-]*(?:{'|'.join(after)})(?!{WORD_CHAR})", re.I) if after else None)
    return cues


def cue_role(text: str, start: int, end: int, lang: str, roles: tuple = ("giver", "receiver"),
             since: int = 0) -> str | None:
    """The first of these roles that the words around this mention mark, on its own line (a title's last word is
    not the next paragraph's first). since: where the previous name ends; a cue before it is that name's ("from
    Egypt [to-]Djibouti": "from" is Egypt's, not Djibouti's)."""
    before = text[max(since, start - 40):start].rsplit("\n", 1)[-1]
    after = text[end:end + 40].split("\n", 1)[0]
    for role in ("reporter", *roles):
        left, right = role_cues().get(role, {}).get(lang, (None, None))
        if (left and left.search(before)) or (right and right.search(after)):
            return None if role == "reporter" else role
    return None


def mention_roles(text: str, mentions: list, lang: str, roles: tuple) -> list:
    """cue_role of each mention [(party, start, end)], each read after the name before it."""
    previous_ends = [0] + [end for _, _, end in mentions]
    return [cue_role(text, start, end, lang, roles, since) for (_, start, end), since in zip(mentions, previous_ends)]


@lru_cache(maxsize=None)
def joining(lang: str):
    """The text between two names that joins them ("and", a comma), after the first name's case ending."""
    words = [re.escape(normalize(w, lang)) for w in roles_yaml()["joined"].get(lang, [","])]
    return re.compile(rf"^{WORD_CHAR}{{0,4}}\s*(?:{'|'.join(words)})\s*$", re.I)


def possible_roles(predicted_types: tuple) -> tuple:
    return tuple(dict.fromkeys(role for name in predicted_types for role in ROLES_BY_TYPE.get(name, ())))


def in_dateline(party, text: str, end: int) -> bool:
    return party.kind in ("city", "province") and bool(DATELINE_AFTER.match(text[end:end + 12]))


def extract_actors(prepared, mentions: list, predicted_types: tuple, evidence: list) -> list:
    """Actors of one analysed article: [{"name", "kind", "country", "role", "source_text", "start", "end"}], first
    mention of each party inside the lead or an evidence sentence, in order of appearance. The rules were chosen on
    the 62 real dev articles with gold actors (data/corpus/real/actors_dev.jsonl)."""
    spans = list(prepared.spans[:LEAD_SENTENCES]) + [(e.start, e.end) for e in evidence]
    signing = [(e.start, e.end) for e in evidence if e.type == "agreement_signing"]
    roles = possible_roles(predicted_types)
    text, lang = prepared.text, prepared.language.code
    first, marked = {}, {}
    cued = mention_roles(text, mentions, lang, roles) if roles else [None] * len(mentions)
    # only mentions inside the lead or an evidence sentence count, and a city in a dateline does not
    counted = [any(a <= start < b for a, b in spans) and not in_dateline(party, text, end)
               for party, start, end in mentions]
    cued = [role if inside else None for role, inside in zip(cued, counted)]
    for (party, start, end), role, inside in zip(mentions, cued, counted):   # any mention may carry the cue
        if not inside:
            continue
        first.setdefault(party, (start, end))
        if party not in marked and any(a <= start < b for a, b in signing):
            marked[party] = "signatory"
        elif party not in marked and role:
            marked[party] = role
    # a name joined to a mention that is marked as giver, receiver or organiser shares its role, along a list ("from
    # Xi'an and Guangzhou"); a party's role from elsewhere is not carried ("Isfahan and Saint Petersburg", pages after
    # Isfahan received the aid, are a sister-city meeting); "Iran and Russia" at a meeting are its two sides
    carried, previous_end = None, 0
    for (party, start, end), role, inside in zip(mentions, cued, counted):
        if inside and role is None and carried in SHARED_ROLES and joining(lang).match(text[previous_end:start]):
            role = carried
            marked.setdefault(party, role)
        carried, previous_end = role, end
    # a city or province is a party when the words give it a role (Isfahan receiving) or when places are all the
    # story names (a meeting of four cities); beside a country or a body, one without a role is a venue
    if any(party.kind not in ("city", "province") for party in first):
        first = {party: span for party, span in first.items()
                 if party.kind not in ("city", "province") or party in marked}
    # "Red Crescent" beside "Iranian Red Crescent Society": keep the specific name
    words = {party: " " + " ".join(re.findall(r"\w+", party.en.lower())) + " " for party in first}
    first = {party: span for party, span in first.items()
             if not any(other is not party and words[party] in words[other] for other in first)}
    sides = set(marked.values())
    lone = [OTHER_SIDE[r] for r in sides if r in OTHER_SIDE and OTHER_SIDE[r] not in sides]
    actors = []
    for party, (start, end) in first.items():
        role = marked.get(party) or (lone[0] if len(lone) == 1 else None)
        if role is None:
            role = ("signatory" if "agreement_signing" in predicted_types else
                    "participant" if predicted_types else "mentioned")
        actors.append({"name": party.en, "kind": party.kind, "country": party.country, "role": role,
                       "source_text": text[start:end], "start": start, "end": end})
    return actors


def who_did_what(actors: list) -> str:
    """The actors as one line an analyst reads: "from Guangzhou (China) and Xi'an (China) to Isfahan (Iran); with
    Iran". Empty when there are none."""
    by_role = {}
    for actor in actors:
        by_role.setdefault(actor["role"], []).append(Party(actor["name"], actor["kind"], actor["country"]).display())
    names = lambda role: join_names(by_role.get(role, [])) or "?"      # noqa: E731
    parts = []
    if "giver" in by_role or "receiver" in by_role:
        parts.append(f"from {names('giver')} to {names('receiver')}")
    if "visitor" in by_role or "host" in by_role:
        parts.append(f"{names('visitor')} visiting {names('host')}")
    if "signatory" in by_role:
        parts.append(f"signed by {names('signatory')}")
    if "organiser" in by_role:
        parts.append(f"organised by {names('organiser')}")
    if "participant" in by_role:
        between = not parts and len(by_role["participant"]) > 1          # "between Bangladesh" alone reads wrong
        parts.append(f"{'between' if between else 'with'} {names('participant')}")
    if "mentioned" in by_role:
        parts.append(f"named: {names('mentioned')}")
    return "; ".join(parts)
