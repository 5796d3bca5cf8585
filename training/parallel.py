"""Parallel sentences for the English summarizer: build `data/parallel/public.jsonl` from the public data sets
in ../shared/data (SIB-200/FLORES sentences aligned across languages by index_id; Bengali-English news
sentences from the PTB part of bnlp-resources), cut `data/parallel/real_news.jsonl` from the project's real
published news (each sentence of an English reference summary with the source sentence it renders), and read
every parallel file for training.

  python -m cooplens.training.parallel build --shared ../shared/data
  python -m cooplens.training.parallel real          # needs the shipped encoder (cooplens fetch-models)

Deterministic (seeded sample), small (a subset, not the whole sets), and each row says where it came from.
Split: SIB-200 rows keep SIB's own train/dev split; bn-en rows are split by a hash of their id (5 % dev).
"""
import argparse
import csv
import hashlib
import json
import random
from pathlib import Path

import numpy as np

# The SIB-200 / FLORES languages in ../shared/data/sib200, by folder name; the one table for the project.
SIB_LANGS = {"pes_Arab": "fa", "ben_Beng": "bn", "arb_Arab": "ar", "urd_Arab": "ur", "hin_Deva": "hi",
             "vie_Latn": "vi", "zho_Hans": "zh", "rus_Cyrl": "ru", "fra_Latn": "fr", "spa_Latn": "es",
             "tur_Latn": "tr", "eng_Latn": "en"}
BN_EN_NEWS = ("PTB_ptb.bn", "PTB_ptb.en")     # WSJ news sentences: the register closest to ours
SEED = 13
# real-news pairs: chosen by reading a sample of the aligned pairs (0.80: below it the reference sentence is
# usually about another source sentence; outside 0.7-1.5x the source's length it compresses or adds)
MIN_SIMILARITY = 0.80
LENGTH_RATIO = (0.7, 1.5)


def read_sib(folder: Path, split: str) -> dict:
    with open(folder / f"{split}.tsv", encoding="utf-8") as fh:
        return {row["index_id"]: row["text"] for row in csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE)}


def dev_by_hash(key: str, share: float = 0.05) -> bool:
    return int(hashlib.sha256(key.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF < share


def build(shared: Path, per_language: int, bn_en_news: int) -> list:
    rng = random.Random(SEED)
    rows = []
    for split in ("train", "dev"):
        english = read_sib(shared / "sib200" / "eng_Latn", split)
        cap = per_language if split == "train" else per_language // 10
        for folder, lang in SIB_LANGS.items():
            if lang == "en":            # English is the target side
                continue
            source = read_sib(shared / "sib200" / folder, split)
            ids = sorted(set(source) & set(english), key=int)
            for index_id in sorted(rng.sample(ids, min(cap, len(ids))), key=int):
                rows.append({"id": f"sib-{lang}-{index_id}", "src_lang": lang, "src": source[index_id],
                             "en": english[index_id], "source": "sib200", "split": split})
    bn_file, en_file = (shared / "parallel" / "bn-en" / name for name in BN_EN_NEWS)
    pairs = [(b.strip(), e.strip()) for b, e in zip(bn_file.read_text(encoding="utf-8").splitlines(),
                                                      en_file.read_text(encoding="utf-8").splitlines())
             if b.strip() and e.strip() and len(e) < 400]
    for i in sorted(rng.sample(range(len(pairs)), min(bn_en_news, len(pairs)))):
        row_id = f"ptb-bn-{i:05d}"
        rows.append({"id": row_id, "src_lang": "bn", "src": pairs[i][0], "en": pairs[i][1], "source": "bnlp-ptb",
                     "split": "dev" if dev_by_hash(row_id) else "train"})
    return rows


def real_news_pairs(rows: list, min_similarity: float, length_ratio: tuple) -> list:
    """(source sentence -> English reference sentence) from real articles of the train and dev splits (never
    test). Each reference sentence is matched to its most similar source sentence (the shipped encoder with the
    guard's sentence-similarity prompt) and kept only if the match is close, the English is about as long as the
    source (a rendering, not a compression of it), and every number and name in it traces to that one sentence: a
    reference sentence that fuses facts from several source sentences would teach the generator to add what its
    input does not say."""
    from cooplens.models.analyzer import Analyzer
    from cooplens.models.faithfulness import check_against_source, english_sentences
    from cooplens.models.labelled import is_real_news
    from cooplens.models.text import article_text, prepare

    analyzer = Analyzer.from_pretrained(summarizer="digest")
    gazetteer = analyzer.gazetteer
    articles = [(row, english_sentences(row["summary_en"]),
                 prepare(article_text(row.get("title"), row["text"]), lang=row["lang"]).sentences)
                for row in rows if is_real_news(row) and row["split"] in ("train", "dev") and row.get("summary_en")]
    texts = list(dict.fromkeys(t for _, references, sources in articles for t in references + sources))
    vectors = dict(zip(texts, analyzer.embed_for_support(texts)))      # one call: batches of equal length fill up
    pairs = []
    for row, references, sources in articles:
        similarity = np.stack([vectors[t] for t in references]) @ np.stack([vectors[t] for t in sources]).T
        best = {}                       # source sentence -> (similarity, its closest acceptable reference sentence)
        for k, reference in enumerate(references):
            j = int(similarity[k].argmax())
            if not (similarity[k, j] >= min_similarity and similarity[k, j] > best.get(j, (-1.0, None))[0]
                    and length_ratio[0] <= len(reference) / len(sources[j]) <= length_ratio[1]):
                continue
            # the name and number trace only for the matches that pass the cheap checks
            report = check_against_source(reference, sources[j], gazetteer.find(sources[j], row["lang"]),
                                          lambda text: gazetteer.find(text, "en"))
            if not report.untraced_numbers + report.untraced_names:
                best[j] = (float(similarity[k, j]), reference)
        for j, (score, reference) in sorted(best.items()):
            pairs.append({"id": f"{row['id']}-s{j}", "src_lang": row["lang"], "src": sources[j], "en": reference,
                          "source": "real-news", "split": row["split"], "url": row["source"],
                          "similarity": round(score, 4)})
    return pairs


def read_parallel(folder: Path) -> list:
    """Every *.jsonl in data/parallel: written rows (no split field) are split 95/5 by id hash."""
    rows = []
    for path in sorted(Path(folder).glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                row.setdefault("split", "dev" if dev_by_hash(row["id"]) else "train")
                rows.append(row)
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["build", "real"])
    parser.add_argument("--shared", default="../shared/data", type=Path)
    parser.add_argument("--out", type=Path, help="default: data/parallel/public.jsonl (build), real_news.jsonl (real)")
    parser.add_argument("--per-language", type=int, default=200, help="SIB-200 train sentences per language")
    parser.add_argument("--bn-en-news", type=int, default=600)
    parser.add_argument("--corpus", default="data/corpus/corpus.jsonl", type=Path)
    parser.add_argument("--min-similarity", type=float, default=MIN_SIMILARITY)
    parser.add_argument("--length-ratio", type=float, nargs=2, default=LENGTH_RATIO,
                        help="English characters per source character, min max")
    args = parser.parse_args()
    if args.command == "build":
        rows = build(args.shared, args.per_language, args.bn_en_news)
    else:
        from cooplens.models.labelled import read_rows
        rows = real_news_pairs(read_rows(args.corpus), args.min_similarity, tuple(args.length_ratio))
    args.out = args.out or Path("data/parallel") / ("public.jsonl" if args.command == "build" else "real_news.jsonl")
    args.out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    print(f"{len(rows)} pairs -> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
