"""The English output tokens of a summarizer folder: `output_tokens.json`, the token ids its English is written with.

The generator writes English, but its output layer scores all 262,144 Gemma tokens at every step, and that layer
holds 63 % of the model's weights: on a CPU, decoding one token reads it whole. Decoding over English tokens only
(`summarizer.english_tokens`) makes the generator about 1.6x faster, and greedy decoding writes the same text
wherever the full model's choice is one of them (measured: eval/RESULTS.md, "English output tokens").

The set: the tokens of the 100,000 most frequent English words (wordfreq, in five case forms), of every English
reference summary and every Latin-script article of the corpus, of the English side of the parallel data, every
single Latin character or punctuation mark, the 256 byte tokens (so any text can still be spelled) and the
special tokens. Made once per tokenizer; `pip install wordfreq` first (a build-time tool, not a dependency).

  python -m cooplens.training.output_tokens models/shipped/summarizer-gemma-lora
"""
import argparse
import json
import re
from pathlib import Path

ENGLISH_WORDS = 100_000
# the corpus's languages written in Latin script: their names and terms are copied into English summaries
LATIN_SCRIPT_LANGS = {"en", "fr", "es", "pt", "de", "tr", "id", "it", "nl", "vi"}


def latin_or_punctuation(token: str) -> bool:
    return all(ord(c) < 0x250 or 0x2000 <= ord(c) <= 0x20CF or c == "▁" for c in token)


def english_texts(corpus: Path, parallel: Path) -> list:
    texts = []
    for line in corpus.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        texts.append(row.get("summary_en") or "")
        if row.get("lang") in LATIN_SCRIPT_LANGS:
            texts.append(row["text"])
    for path in sorted(parallel.glob("*.jsonl")):
        texts += [json.loads(line)["en"] for line in path.read_text(encoding="utf-8").splitlines()]
    return [line for text in texts for line in text.splitlines() if line.strip()]


def english_token_ids(tokenizer, texts: list, words: list) -> list:
    forms = [form for w in words for form in (w, " " + w, w.capitalize(), " " + w.capitalize(), " " + w.upper())]
    strings, ids = forms + texts, set()
    for start in range(0, len(strings), 4096):
        for encoded in tokenizer(strings[start:start + 4096], add_special_tokens=False)["input_ids"]:
            ids.update(encoded)
    vocabulary = tokenizer.convert_ids_to_tokens(list(range(len(tokenizer))))
    ids.update(i for i, t in enumerate(vocabulary)
               if re.fullmatch(r"<0x[0-9A-F]{2}>", t) or (len(t.replace("▁", "")) <= 1 and latin_or_punctuation(t)))
    ids.update(tokenizer.all_special_ids)
    ids.update(tokenizer.convert_tokens_to_ids(["<end_of_turn>", "<start_of_turn>"]))
    ids.discard(tokenizer.unk_token_id)
    return sorted(i for i in ids if i is not None)


def main(argv=None):
    from transformers import AutoTokenizer
    from wordfreq import top_n_list

    from cooplens.models.summarizer import OUTPUT_TOKENS_FILE, generator_weights, tokenizer_fingerprint

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", help="a summarizer folder (its adapter names the base tokenizer)")
    parser.add_argument("--corpus", default="data/corpus/corpus.jsonl")
    parser.add_argument("--parallel", default="data/parallel")
    args = parser.parse_args(argv)
    folder = Path(args.folder)
    tokenizer = AutoTokenizer.from_pretrained(generator_weights(folder))
    ids = english_token_ids(tokenizer, english_texts(Path(args.corpus), Path(args.parallel)),
                            top_n_list("en", ENGLISH_WORDS, wordlist="large"))
    (folder / OUTPUT_TOKENS_FILE).write_text(json.dumps(
        {"tokenizer": tokenizer_fingerprint(tokenizer), "made_by": "python -m cooplens.training.output_tokens",
         "english_words": ENGLISH_WORDS, "ids": ids}, separators=(",", ":")) + "\n", encoding="utf-8")
    print(f"{len(ids)} of {len(tokenizer)} tokens -> {folder / OUTPUT_TOKENS_FILE}")


if __name__ == "__main__":
    main()
