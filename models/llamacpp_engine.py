"""The decoder-only generator on llama.cpp (the `llama.cpp` summarizer engine, CPU; the optional extra
`cooplens[llamacpp]`, which compiles llama-cpp-python).

It runs the base exactly as published, the Gemma 3 270M GGUF (Q4_K_M, `fetch.gemma3_270m_gguf`), with the summarizer's
LoRA adapter written once as a GGUF adapter under `COOPLENS_CACHE/llamacpp/` (keyed by the adapter's bytes, checked
by sha256 on every load). The fp32 HF and CTranslate2 engines run the same weights dequantized, so only llama.cpp's
arithmetic (8-bit activations in the quantized dot products) separates its text from theirs; each prompt reads ~0.17 GB
of weights per token instead of 1.07 GB (eval/RESULTS.md).
"""
import hashlib
import json
import logging
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import numpy as np

logger = logging.getLogger("cooplens")

MANIFEST = "cooplens-llamacpp.json"
GGML_LOG_LEVEL_ERROR = 4        # ggml's enum since 2024; llama-cpp-python 0.3.36 still maps the old one, so its
_log_callback = None            # "quiet" mode prints every warning: cooplens routes llama.cpp's log itself
# PEFT module names under the base model -> the GGUF names llama.cpp's Gemma 3 graph looks up
PEFT_KEY = re.compile(r"base_model\.model\.(?P<module>.+)\.lora_(?P<ab>[AB])\.weight")


def lora_gguf(adapter_folder: Path) -> Path:
    """The PEFT LoRA adapter as a llama.cpp GGUF adapter (float32), written once and cached; what the upstream
    convert_lora_to_gguf.py writes, without needing llama.cpp's source tree."""
    import gguf
    from safetensors.numpy import load_file

    from cooplens.models.fetch import cache_dir, hash_adapter, sha256_of

    folder = cache_dir() / "llamacpp" / hash_adapter(hashlib.sha256(), adapter_folder).hexdigest()[:16]
    out, manifest = folder / "adapter.gguf", folder / MANIFEST
    if manifest.exists() and out.exists() and json.loads(manifest.read_text())["sha256"] == sha256_of(out):
        return out
    config = json.loads((adapter_folder / "adapter_config.json").read_text())
    tensors = load_file(str(adapter_folder / "adapter_model.safetensors"))
    layers = 1 + max(int(m) for m in re.findall(r"layers\.(\d+)\.", " ".join(tensors)))
    names = gguf.get_tensor_name_map(gguf.MODEL_ARCH.GEMMA3, layers)
    folder.mkdir(parents=True, exist_ok=True)
    partial = folder / "adapter.gguf.partial"
    writer = gguf.GGUFWriter(str(partial), "gemma3")
    writer.add_string("general.type", "adapter")
    writer.add_string("adapter.type", "lora")
    writer.add_float32("adapter.lora.alpha", float(config["lora_alpha"]))
    for key in sorted(tensors):
        match = PEFT_KEY.fullmatch(key)
        target = match and names.get_name(match["module"] + ".weight", try_suffixes=(".weight",))
        if not target:
            raise ValueError(f"{adapter_folder}: LoRA tensor {key} has no llama.cpp Gemma 3 name")
        writer.add_tensor(f"{target}.lora_{match['ab'].lower()}", tensors[key].astype(np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    partial.rename(out)
    manifest.write_text(json.dumps({"sha256": sha256_of(out), "source": str(adapter_folder.resolve())}) + "\n")
    return out


def quiet_llamacpp() -> None:
    """llama.cpp's errors go to the cooplens logger; its info and warnings (one per LoRA tensor) are dropped."""
    global _log_callback
    import llama_cpp

    if _log_callback is None:
        @llama_cpp.llama_log_callback
        def callback(level, text, user_data):
            if level == GGML_LOG_LEVEL_ERROR:
                logger.error("llama.cpp: %s", text.decode("utf-8", "replace").rstrip())

        _log_callback = callback            # kept alive: llama.cpp calls it for as long as the process runs
        llama_cpp.llama_log_set(_log_callback, None)


@contextmanager
def model_params(**fields):
    """Model parameters that llama-cpp-python's Llama() takes no argument for (use_extra_bufts), set on the defaults
    it starts from while the block builds models."""
    import llama_cpp.llama_cpp as library

    defaults = library.llama_model_default_params

    def with_fields():
        params = defaults()
        for name, value in fields.items():
            setattr(params, name, value)
        return params

    library.llama_model_default_params = with_fields
    try:
        yield
    finally:
        library.llama_model_default_params = defaults


class LlamaCppDecoder:
    """Greedy generation from prompt token ids with the HF generator's stopping and n-gram blocking. One llama.cpp
    context per core, one thread each, every prompt decoded alone: its text cannot depend on the batch, the order
    or the number of cores (the same rule as the CTranslate2 engine)."""

    def __init__(self, model_path: Path, adapter_path: Path | None, end_token_ids: list, threads: int,
                 context_tokens: int):
        from llama_cpp import Llama

        from cooplens.models.runtime import cpu_flags

        quiet_llamacpp()
        self.end_tokens = set(end_token_ids)
        # ggml's AMX buffer type (the weights repacked for AMX int8) segfaults in the first decode on this project's
        # AMX CPUs, with or without the adapter, on one core or two (reported upstream as ggml-org/llama.cpp#20824, not
        # fixed); without the extra buffer types the weights stay as published. Other CPUs keep their repacking.
        with model_params(use_extra_bufts="amx_int8" not in cpu_flags()):
            self.contexts = [Llama(model_path=str(model_path), lora_path=str(adapter_path) if adapter_path else None,
                                   n_ctx=context_tokens, n_batch=context_tokens, n_threads=1, n_threads_batch=1,
                                   seed=0, verbose=False) for _ in range(max(1, threads))]
        self.free = list(self.contexts)
        self.lock = threading.Lock()

    def _decode(self, prompt: list, max_new_tokens: int, no_repeat_ngram_size: int) -> list:
        if len(prompt) + max_new_tokens > self.contexts[0].n_ctx():
            raise ValueError(f"a prompt of {len(prompt)} tokens leaves no room for the answer in the llama.cpp "
                             f"context ({self.contexts[0].n_ctx()} tokens)")
        with self._context() as llm:
            llm.eval(prompt)
            tokens, generated = list(prompt), []
            while len(generated) < max_new_tokens:
                logits = logits_at(llm)
                logits[banned_tokens(tokens, no_repeat_ngram_size)] = -np.inf
                token = int(np.argmax(logits))
                if token in self.end_tokens:
                    break
                generated.append(token)
                tokens.append(token)
                llm.eval([token])
            return generated

    @contextmanager
    def _context(self):
        """A free context, reset (this thread's alone until the block ends)."""
        with self.lock:
            llm = self.free.pop()
        try:
            llm.reset()
            yield llm
        finally:
            with self.lock:
                self.free.append(llm)

    def _logprobs(self, prompt: list, continuation: list) -> np.ndarray:
        with self._context() as llm:
            llm.eval(prompt)
            rows = [logits_at(llm)] + continuation_logits(llm, len(prompt), continuation[:-1])
            return np.array([token_logprob(row, token) for row, token in zip(rows, continuation)], dtype=np.float32)

    def logprobs(self, prompts: list, continuations: list) -> list:
        """log p of each continuation token after its prompt; each sequence scored alone, one per core."""
        with ThreadPoolExecutor(len(self.contexts)) as pool:
            return list(pool.map(self._logprobs, prompts, continuations))

    def generate(self, prompts: list, max_new_tokens: int, num_beams: int, no_repeat_ngram_size: int,
                 batch_size: int, candidates: int = 1) -> list:
        """prompts: lists of token ids. Returns per prompt [its generated token ids] (prompt excluded), in order."""
        if num_beams != 1 or candidates != 1:
            raise ValueError("the llama.cpp engine decodes greedily (num_beams 1, one candidate)")
        with ThreadPoolExecutor(len(self.contexts)) as pool:     # llama.cpp releases the GIL while it computes
            return list(pool.map(lambda p: [self._decode(p, max_new_tokens, no_repeat_ngram_size)], prompts))


def logits_at(llm, index: int = -1) -> np.ndarray:
    """The logits of the last decode's output at index (-1: its last position)."""
    from llama_cpp import llama_get_logits_ith

    return np.ctypeslib.as_array(llama_get_logits_ith(llm.ctx, index), shape=(llm.n_vocab(),)).astype(np.float64)


def continuation_logits(llm, position: int, tokens: list) -> list:
    """The logits after each of tokens, decoded as one batch from position on: ~3 ms a token on one core, where a
    decode step per token (llama-cpp-python's eval keeps the last position's logits only) costs ~40 ms."""
    import llama_cpp

    if not tokens:
        return []
    batch = llama_cpp.llama_batch_init(len(tokens), 0, 1)
    try:
        for i, token in enumerate(tokens):
            batch.token[i], batch.pos[i], batch.n_seq_id[i], batch.logits[i] = token, position + i, 1, True
            batch.seq_id[i][0] = 0
        batch.n_tokens = len(tokens)
        if llama_cpp.llama_decode(llm.ctx, batch) != 0:
            raise RuntimeError("llama.cpp could not decode a continuation to score")
        return [logits_at(llm, i) for i in range(len(tokens))]
    finally:
        llama_cpp.llama_batch_free(batch)


def token_logprob(logits: np.ndarray, token: int) -> float:
    """log softmax(logits)[token], max-shifted: over 262k logits ~4x faster than np.logaddexp.reduce, the same to
    1e-12."""
    shifted = logits - logits.max()
    return shifted[token] - np.log(np.exp(shifted).sum())


def banned_tokens(tokens: list, n: int) -> list:
    """Tokens that would repeat an n-gram already in tokens (prompt included, as HF's no_repeat_ngram_size does)."""
    if n <= 0 or len(tokens) < n:
        return []
    prefix = tuple(tokens[len(tokens) - n + 1:])
    return [tokens[i + n - 1] for i in range(len(tokens) - n + 1) if tuple(tokens[i:i + n - 1]) == prefix]
