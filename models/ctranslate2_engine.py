"""The decoder-only generator on CTranslate2 (the `ctranslate2` summarizer engine, CPU).

The HF generator (base + LoRA, merged) is converted once into a CTranslate2 folder under
`COOPLENS_CACHE/ctranslate2/`, keyed by what it was made from (the base weights, the adapter's bytes, the
quantization, the CTranslate2 version) and checked by sha256 on every load, like the fetched base weights. Later
loads never build the torch model. float32 gives the HF engine's exact text, faster; int8 is faster still but
changes the wording (eval/RESULTS.md).
"""
import hashlib
import json
import logging
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import ctranslate2
import numpy as np

logger = logging.getLogger("cooplens")

MANIFEST = "cooplens-ct2.json"


def source_key(weights: str, adapter_folder: Path | None, quantization: str, output_tokens: list | None = None) -> str:
    """What a converted folder was made from, as a short hash."""
    from cooplens.models.fetch import hash_adapter

    digest = hashlib.sha256(f"{Path(weights).resolve()}|{quantization}|{ctranslate2.__version__}".encode())
    if adapter_folder is not None:
        hash_adapter(digest, adapter_folder)
    if output_tokens is not None:
        digest.update(("|output:" + ",".join(map(str, output_tokens))).encode())
    return digest.hexdigest()[:16]


def restrict_output(spec, output_tokens: list) -> None:
    """Make a converted decoder's output layer score output_tokens only. CTranslate2 has one vocabulary for input
    and output, so the vocabulary (and the input embedding with it) is reordered to put those tokens first, and
    the output layer keeps their rows: output id n is output_tokens[n], and every token can still be read."""
    import torch

    kept = set(output_tokens)
    order = torch.tensor(list(output_tokens) + [i for i in range(len(spec._vocabulary)) if i not in kept])
    decoder = spec.decoder
    decoder.embeddings.weight = torch.as_tensor(decoder.embeddings.weight).detach()[order].contiguous()
    decoder.projection.weight = torch.as_tensor(decoder.projection.weight).detach()[order[:len(kept)]].contiguous()
    if not isinstance(getattr(decoder.projection, "bias", None), (str, type(None))):
        decoder.projection.bias = torch.as_tensor(decoder.projection.bias).detach()[order[:len(kept)]].contiguous()
    spec.register_vocabulary([spec._vocabulary[i] for i in order.tolist()])


def converted_folder(key: str, quantization: str, load_merged_model, tokenizer,
                     output_tokens: list | None = None) -> Path:
    """The CTranslate2 folder for this key: converted now from load_merged_model() (a torch model) if it is
    not cached yet or fails its hash check; its output layer restricted to output_tokens if given."""
    from cooplens.models.fetch import cache_dir, sha256_of_folder

    folder = cache_dir() / "ctranslate2" / key
    manifest = folder / MANIFEST
    if manifest.exists():
        if json.loads(manifest.read_text())["sha256"] == sha256_of_folder(folder, MANIFEST):
            return folder
        logger.warning("%s fails its sha256 check: converting again", folder)
    shutil.rmtree(folder, ignore_errors=True)
    folder.parent.mkdir(parents=True, exist_ok=True)
    logger.info("converting the generator to CTranslate2 (%s), once: %s", quantization, folder)
    with tempfile.TemporaryDirectory(dir=folder.parent) as tmp:
        merged = Path(tmp) / "merged"
        load_merged_model().save_pretrained(merged)
        tokenizer.save_pretrained(merged)
        built = Path(tmp) / "ct2"
        OutputRestrictedConverter(str(merged), output_tokens).convert(str(built), quantization=quantization)
        (built / MANIFEST).write_text(json.dumps({"sha256": sha256_of_folder(built, MANIFEST),
                                                  "quantization": quantization, "ctranslate2": ctranslate2.__version__,
                                                  "output_tokens": None if output_tokens is None
                                                  else len(output_tokens)}) + "\n")
        built.rename(folder)       # atomic: a half-written folder is never seen as converted
    return folder


class OutputRestrictedConverter(ctranslate2.converters.TransformersConverter):
    """The transformers converter, with the output layer cut to output_tokens (None: all tokens)."""

    def __init__(self, model: str, output_tokens: list | None):
        super().__init__(model)
        self.output_tokens = output_tokens

    def _load(self):
        spec = super()._load()
        if self.output_tokens is not None:
            restrict_output(spec, self.output_tokens)
        return spec


class CTranslate2Decoder:
    """Greedy / beam generation from prompt token ids, with the HF generator's stopping and n-gram blocking."""

    def __init__(self, folder: Path, tokenizer, end_token_ids: list, quantization: str, threads: int,
                 batch_size: int, output_tokens: list | None = None):
        import torch

        self.tokenizer = tokenizer
        # a restricted output layer's id n is the tokenizer's output_tokens[n] (restrict_output)
        self.output_tokens = None if output_tokens is None else np.asarray(output_tokens)
        self.output_position = {} if output_tokens is None else {t: n for n, t in enumerate(output_tokens)}
        self.end_tokens = tokenizer.convert_ids_to_tokens(end_token_ids)
        # batch_size 1: every prompt decoded alone, so its text cannot depend on the prompts beside it (batched
        # greedy decoding reworded some summaries with the batch composition: issue #12); the cores then decode
        # prompts side by side, one thread each, which the measured text does not depend on either (eval/RESULTS.md)
        alone = batch_size == 1
        self.model = ctranslate2.Generator(str(folder), device="cpu", compute_type=quantization,
                                           inter_threads=threads if alone else 1, intra_threads=1 if alone else threads)
        # loading sets the calling thread's OpenMP thread count to intra_threads, which torch shares: give the
        # encoder its threads back (the decoding workers keep their own setting)
        torch.set_num_threads(threads)

    def generate(self, prompts: list, max_new_tokens: int, num_beams: int, no_repeat_ngram_size: int,
                 batch_size: int, candidates: int = 1) -> list:
        """prompts: lists of token ids. Returns per prompt its `candidates` best generations' token ids (prompt
        excluded; a beam of at least that many, best first), in order."""
        results = self.model.generate_batch([self.tokenizer.convert_ids_to_tokens(p) for p in prompts],
                                            max_length=max_new_tokens, beam_size=max(num_beams, candidates),
                                            num_hypotheses=candidates, sampling_topk=1,
                                            no_repeat_ngram_size=no_repeat_ngram_size, end_token=self.end_tokens,
                                            include_prompt_in_result=False, max_batch_size=batch_size)
        return [[ids if self.output_tokens is None else self.output_tokens[ids].tolist() for ids in r.sequences_ids]
                for r in results]

    def logprobs(self, prompts: list, continuations: list) -> list:
        """log p of each continuation token after its prompt; each sequence scored alone (batch-independent)."""
        if self.output_tokens is not None:
            # forward_batch runs one sequence on one worker: the workers (one per core) score side by side, each
            # sequence still alone, so the scores are the same as one after another (tests/test_summarizer.py)
            with ThreadPoolExecutor(self.model.num_generators) as workers:
                return list(workers.map(self._restricted_logprobs, prompts, continuations))
        results = self.model.score_batch([self.tokenizer.convert_ids_to_tokens(p + c)
                                          for p, c in zip(prompts, continuations)], max_batch_size=1)
        # log_probs[k] is the log p of token k + 1 given the tokens before it
        return [np.array(r.log_probs[len(p) - 1:], dtype=np.float32) for r, p in zip(results, prompts)]

    def _restricted_logprobs(self, prompt: list, continuation: list) -> np.ndarray:
        """log p over the output tokens (as the HF engine scores with them): the prompt's tokens need not be among
        them, so the logits are taken whole, not through score_batch's lookup of every token."""
        logits = np.asarray(self.model.forward_batch([self.tokenizer.convert_ids_to_tokens(prompt + continuation)]))
        logits = logits[0, len(prompt) - 1:-1].astype(np.float64)
        logp = logits - logits.max(-1, keepdims=True)
        logp -= np.log(np.exp(logp).sum(-1, keepdims=True))
        return np.array([logp[k, self.output_position[t]] if t in self.output_position else -np.inf
                         for k, t in enumerate(continuation)], dtype=np.float32)
