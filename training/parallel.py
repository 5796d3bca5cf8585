"""Parallel sentences for the English summarizer: build `data/parallel/public.jsonl` from the public data sets
in ../shared/data (SIB-200/FLORES sentences aligned across languages by index_id; Bengali-English news
sentences from the PTB part of bnlp-resources), and read every parallel file for training.

  python -m cooplens.training.parallel build --shared ../shared/data

Deterministic (seeded sample), small (a subset, not the whole sets), and each row says where it came from.
Split: SIB-200 rows keep SIB's own train/dev split; bn-en rows are split by a hash of their id (5 % dev).
"""
import argparse
import csv
import hashlib
import json
import random
from pathlib import Path

# The SIB-200 / FLORES languages in ../shared/data/sib200, by folder name; the one table for the project.
SIB_LANGS = {"pes_Arab": "fa", "ben_Beng": "bn", "arb_Arab": "ar", "urd_Arab": "ur", "hin_Deva": "hi",
             "vie_Latn": "vi", "zho_Hans": "zh", "rus_Cyrl": "ru", "fra_Latn": "fr", "spa_Latn": "es",
             "tur_Latn": "tr", "eng_Latn": "en"}
BN_EN_NEWS = ("PTB_ptb.bn", "PTB_ptb.en")     # WSJ news sentences: the register closest to ours
SEED = 13


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
    parser.add_argument("command", choices=["build"])
    parser.add_argument("--shared", default="../shared/data", type=Path)
    parser.add_argument("--out", default="data/parallel/public.jsonl", type=Path)
    parser.add_argument("--per-language", type=int, default=200, help="SIB-200 train sentences per language")
    parser.add_argument("--bn-en-news", type=int, default=600)
    args = parser.parse_args()
    rows = build(args.shared, args.per_language, args.bn_en_news)
    args.out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    print(f"{len(rows)} pairs -> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
