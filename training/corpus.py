"""The labelled corpus: building it from its sources, splits, the leakage check (its row format: models/labelled.py).

data/corpus/corpus.jsonl is built by `python -m cooplens.training.corpus build --shared ../shared/data` from
  data/corpus/written/*.jsonl     articles written for the project (source: written)
  data/corpus/real/news_*.jsonl   real published news articles (source: the URL), labelled by hand
  data/corpus/real/fa_news_coop.jsonl   real Persian headline + lead items that report cooperation
  data/corpus/real/news_train_*.jsonl   real news collected after the splits were drawn: their rows say
                                  "split": "train", so adding them leaves the dev and test splits as they were
  data/corpus/real/label_corrections.jsonl   labels corrected after the splits were drawn (id, the new label,
                                  why): applied after the draw, which stratifies on the label as first written,
                                  so a correction never moves any row between splits
  ../shared/data                  real non-cooperation news: Persian leads, BBC articles, SIB-200 paragraphs
and split train/dev/test stratified by origin, language and label, with no near-duplicates across splits (the
same wire story on two outlets stays in one split). Real news gets larger dev and test shares: it is what the
models are judged on.
"""
import argparse
import hashlib
import json
import random
import re
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

from cooplens.models.labelled import FIELDS, SPLITS, CorpusError, data_hash, is_real_news, read_rows
from cooplens.models.taxonomy import load_taxonomy
from cooplens.training.parallel import SIB_LANGS

SPLIT_SHARES = {"written": (0.7, 0.15, 0.15), "real": (0.55, 0.18, 0.27)}
SEED = 13
NEAR_DUPLICATE_JACCARD = 0.6
SAME_STORY_JACCARD = 0.3        # two outlets' versions of one story share far fewer 5-grams than a copy does
OPTIONAL_FIELDS = ("kind", "outlet", "date")     # real news: negative kind, outlet, publication date


# ---------------------------------------------------------------- near-duplicates (MinHash on char 5-grams)

def minhash_signatures(texts: list, n_hashes: int = 64, shingle: int = 5) -> np.ndarray:
    rng = np.random.default_rng(SEED)
    a = rng.integers(1, 2**31 - 1, n_hashes, dtype=np.int64)
    b = rng.integers(0, 2**31 - 1, n_hashes, dtype=np.int64)
    prime = np.int64(2**31 - 1)
    signatures = np.zeros((len(texts), n_hashes), dtype=np.int64)
    for i, text in enumerate(texts):
        compact = re.sub(r"\s+", " ", text.lower())
        grams = {compact[j:j + shingle] for j in range(max(1, len(compact) - shingle + 1))}
        hashed = np.array([int.from_bytes(hashlib.blake2b(g.encode(), digest_size=4).digest(), "little")
                           for g in grams], dtype=np.int64)
        signatures[i] = ((np.outer(hashed, a) + b) % prime).min(axis=0)
    return signatures


def near_duplicate_pairs(texts_a: list, texts_b: list, threshold: float = NEAR_DUPLICATE_JACCARD) -> list:
    """(i, j, estimated Jaccard) for pairs across the two lists that look like the same text."""
    if not texts_a or not texts_b:
        return []
    sig_a, sig_b = minhash_signatures(texts_a), minhash_signatures(texts_b)
    pairs = []
    for i in range(len(sig_a)):
        similarity = (sig_b == sig_a[i]).mean(axis=1)
        pairs.extend((i, int(j), float(similarity[j])) for j in np.nonzero(similarity >= threshold)[0])
    return pairs


def leakage(rows: list) -> list:
    """Near-duplicate pairs between different splits (train-dev, train-test, dev-test)."""
    by_split = {s: [r for r in rows if r["split"] == s] for s in SPLITS}
    found = []
    for x, y in (("train", "dev"), ("train", "test"), ("dev", "test")):
        for i, j, sim in near_duplicate_pairs([r["text"] for r in by_split[x]], [r["text"] for r in by_split[y]]):
            found.append((by_split[x][i]["id"], by_split[y][j]["id"], sim))
    return found


# ---------------------------------------------------------------- negatives from the shared real data

COOPERATION_CUES = re.compile("همکاری|تفاهم|مشترک|اهدا|کمک|هیئت|دیدار|نشست|سفر|توافق|امضا|قرارداد|بین‌الملل|خارجه")


def persian_negatives(shared: Path, used_links: set, n: int, rng: random.Random) -> list:
    items = []
    for name in ("hamshahri", "radiofarda"):
        for item in json.loads((shared / "fa_news" / f"{name}.json").read_text(encoding="utf-8")):
            text = (item.get("summary") or "").strip()
            if item["link"] in used_links or not text or COOPERATION_CUES.search(item["title"] + text):
                continue   # anything that might report cooperation is left out rather than mislabelled
            items.append({"lang": "fa", "title": item["title"], "text": text[:3000],
                          "source": f"{name} {item['link']}", "summary_en": ""})
    return rng.sample(items, min(n, len(items)))


def bbc_negatives(shared: Path, n: int, rng: random.Random) -> list:
    root = shared / "en_summaries" / "bbc" / "BBC News Summary"
    files = sorted((root / "News Articles").glob("*/*.txt"))
    items = []
    for path in rng.sample(files, min(n * 2, len(files))):
        text = path.read_text(encoding="latin-1").strip()
        title, _, body = text.partition("\n")
        if re.search(r"\b(agree|agreement|cooperat|partnership|joint|deal|aid|donat)\w*", text, re.I):
            continue
        summary_path = root / "Summaries" / path.parent.name / path.name
        items.append({"lang": "en", "title": title.strip(), "text": body.strip()[:4000],
                      "source": f"bbc-news-summary {path.parent.name}/{path.name}",
                      "summary_en": summary_path.read_text(encoding="latin-1").strip()[:600]})
        if len(items) == n:
            break
    return items


def sib_negatives(shared: Path, per_lang: int, rng: random.Random) -> list:
    """SIB-200 sentences of one topic grouped into 3-5 sentence paragraphs (train split only)."""
    items = []
    for folder, lang in SIB_LANGS.items():
        by_topic = defaultdict(list)
        for line in (shared / "sib200" / folder / "train.tsv").read_text(encoding="utf-8").splitlines()[1:]:
            index_id, topic, text = line.split("\t", 2)
            by_topic[topic].append(text)
        topics = sorted(by_topic)
        for k in range(per_lang):
            topic = topics[k % len(topics)]
            sentences = rng.sample(by_topic[topic], min(rng.randint(3, 5), len(by_topic[topic])))
            items.append({"lang": lang, "title": "", "text": " ".join(sentences),
                          "source": f"sib200 {folder} train topic={topic}", "summary_en": ""})
    return items


def negative_row(item: dict, item_id: str) -> dict:
    return {"id": item_id, "lang": item["lang"], "title": item["title"], "text": item["text"], "types": [],
            "scope": None, "is_cooperation": False, "summary_en": item["summary_en"], "source": item["source"],
            "split": ""}


def normalized_url_hash(source: str) -> str:
    """The hash the held-out list uses: first token, lower case, no scheme, no leading www., no trailing /."""
    url = source.split()[-1].lower() if source.split() else ""
    return hashlib.sha256(re.sub(r"^[a-z]+://", "", url).removeprefix("www.").rstrip("/").encode()).hexdigest()


def held_out(shared: Path) -> set:
    """URL hashes kept aside for independent judging (../shared/data/holdout_urls.sha256): never in the corpus."""
    path = shared / "holdout_urls.sha256"
    return set(path.read_text().split()) if path.exists() else set()


def story_groups(rows: list) -> list:
    """Rows that are the same text (any source) or the same story (two real news items) grouped together
    (union-find over near-duplicate pairs): a group is assigned to one split."""
    parent = list(range(len(rows)))

    def root(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    texts = [r["text"] for r in rows]
    real = [i for i, r in enumerate(rows) if is_real_news(r)]
    pairs = [(i, j) for i, j, _ in near_duplicate_pairs(texts, texts) if i < j]
    pairs += [(real[i], real[j]) for i, j, _ in near_duplicate_pairs([texts[k] for k in real], [texts[k] for k in real],
                                                                     SAME_STORY_JACCARD) if i < j]
    for i, j in pairs:
        parent[root(i)] = root(j)
    groups = defaultdict(list)
    for i in range(len(rows)):
        groups[root(i)].append(rows[i])
    return sorted(groups.values(), key=lambda g: g[0]["id"])


def assign_splits(rows: list, rng: random.Random) -> None:
    """Story groups stratified by (origin, language, is_cooperation, first type), each stratum split by its
    origin's shares."""
    strata = defaultdict(list)
    for group in story_groups(rows):
        first = group[0]
        origin = "real" if is_real_news(first) else "written"
        strata[(origin, first["lang"], first["is_cooperation"], (sorted(first["types"]) or ["-"])[0])].append(group)
    for key in sorted(strata):
        groups = strata[key]
        rng.shuffle(groups)
        shares = SPLIT_SHARES[key[0]]
        total = sum(len(g) for g in groups)
        want = {"test": round(total * shares[2]), "dev": round(total * shares[1])}
        done = {"test": 0, "dev": 0}
        for group in groups:
            split = next((s for s in ("test", "dev") if done[s] < want[s]), "train")
            done[split] = done.get(split, 0) + len(group)
            for row in group:
                row["split"] = split


def apply_corrections(rows: list, path: Path) -> None:
    """Overwrite the label fields of the rows a correction names; a correction of an unknown id is an error."""
    by_id = {r["id"]: r for r in rows}
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        fix = json.loads(line)
        if fix["id"] not in by_id:
            raise CorpusError(f"{path}: correction for unknown id {fix['id']}")
        by_id[fix["id"]].update({k: fix[k] for k in ("is_cooperation", "types", "scope", "kind")})


def check_pinned(pinned: list, rows: list) -> None:
    """A row that keeps its own split must not be the same story as a row of another split."""
    for split in SPLITS:
        mine = [r for r in pinned if r["split"] == split]
        others = [r for r in rows if r["split"] != split and is_real_news(r)]
        found = near_duplicate_pairs([r["text"] for r in mine], [r["text"] for r in others], SAME_STORY_JACCARD)
        if found:
            raise CorpusError("same story in two splits: " + ", ".join(
                f"{mine[i]['id']} ({split}) ~ {others[j]['id']} ({others[j]['split']})" for i, j, _ in found))


def build(repo: Path, shared: Path) -> Path:
    taxonomy = load_taxonomy()
    rng = random.Random(SEED)
    rows = []
    real = repo / "data" / "corpus" / "real"          # (its actors_*.jsonl are gold actors, not articles)
    for path in sorted((repo / "data" / "corpus" / "written").glob("*.jsonl")) + \
            sorted([real / "fa_news_coop.jsonl", *real.glob("news_*.jsonl")]):
        rows.extend(read_rows(path, taxonomy, require_split=False))
    held = held_out(shared)
    rows = [r for r in rows if normalized_url_hash(r["source"]) not in held]
    used_links = {r["source"].split(" ", 1)[-1] for r in rows}
    negatives = (persian_negatives(shared, used_links, 160, rng) + bbc_negatives(shared, 80, rng)
                 + sib_negatives(shared, 8, rng))
    rows.extend(negative_row(item, f"neg-{k:04d}") for k, item in enumerate(negatives))
    seen = set()
    unique = []
    for row in rows:                     # exact duplicates (same text) are kept once
        key = re.sub(r"\s+", " ", row["text"]).strip()
        if key not in seen:
            seen.add(key)
            unique.append(row)
    ids = Counter(r["id"] for r in unique)
    if any(c > 1 for c in ids.values()):
        raise CorpusError("duplicate ids: " + ", ".join(i for i, c in ids.items() if c > 1))
    pinned = [r for r in unique if r["split"] in SPLITS]     # rows added after the splits were drawn
    assign_splits([r for r in unique if r["split"] not in SPLITS], rng)
    check_pinned(pinned, unique)
    apply_corrections(unique, real / "label_corrections.jsonl")
    out = repo / "data" / "corpus" / "corpus.jsonl"
    out.write_text("".join(json.dumps({f: r[f] for f in FIELDS + OPTIONAL_FIELDS if f in r}, ensure_ascii=False)
                           + "\n" for r in unique), encoding="utf-8")
    read_rows(out, taxonomy)
    return out


def counts_table(rows: list) -> str:
    """Markdown table: per language and split, articles, cooperation articles, and per-type counts."""
    taxonomy = load_taxonomy()
    header = "| lang | split | articles | cooperation | " + " | ".join(taxonomy.types) + " | " + \
             " | ".join(taxonomy.scopes) + " |"
    lines = [header, "|" + "---|" * (4 + len(taxonomy.types) + len(taxonomy.scopes))]
    keys = sorted({(r["lang"], r["split"]) for r in rows}, key=lambda k: (k[0], SPLITS.index(k[1])))
    for lang, split in keys:
        part = [r for r in rows if r["lang"] == lang and r["split"] == split]
        types = Counter(t for r in part for t in r["types"])
        scopes = Counter(r["scope"] for r in part)
        lines.append(f"| {lang} | {split} | {len(part)} | {sum(r['is_cooperation'] for r in part)} | "
                     + " | ".join(str(types[t]) for t in taxonomy.types) + " | "
                     + " | ".join(str(scopes[s]) for s in taxonomy.scopes) + " |")
    types = Counter(t for r in rows for t in r["types"])
    scopes = Counter(r["scope"] for r in rows)
    lines.append(f"| all | all | {len(rows)} | {sum(r['is_cooperation'] for r in rows)} | "
                 + " | ".join(str(types[t]) for t in taxonomy.types) + " | "
                 + " | ".join(str(scopes[s]) for s in taxonomy.scopes) + " |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="build or check the cooplens corpus")
    parser.add_argument("action", choices=["build", "check", "counts"])
    parser.add_argument("--repo", default=".", help="repository root")
    parser.add_argument("--shared", default="../shared/data", help="the shared real-data folder")
    args = parser.parse_args(argv)
    repo = Path(args.repo)
    corpus = repo / "data" / "corpus" / "corpus.jsonl"
    if args.action == "build":
        corpus = build(repo, Path(args.shared))
    rows = read_rows(corpus)
    if args.action == "counts":
        print(counts_table(rows))
    else:
        print(f"{corpus}: {len(rows)} rows, hash {data_hash(corpus)}, cross-split near-duplicates: {len(leakage(rows))}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
