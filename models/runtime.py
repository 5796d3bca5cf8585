"""Where the models run: device choice, length-sorted and length-bucketed batching, and quiet model loading. One
place for all three, so the encoder, the classifier and the generator batch and place tensors the same way."""
import contextlib
import logging

import numpy as np

logger = logging.getLogger("cooplens")

# encoder inputs are padded up to a multiple of this many tokens (bucketed_batches): on 20 real dev articles analysed
# one at a time, 16 and 32 gave the same speed and 8 was slower (eval/RESULTS.md, "Length buckets")
BUCKET_TOKENS = 16


def pick_device(device: str | None = None):
    """An explicit device as given; otherwise CUDA when there is one, else the CPU."""
    import torch

    if device:
        return torch.device(device)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def cpu_flags() -> set:
    """The CPU's feature flags as Linux reports them (empty where /proc/cpuinfo cannot be read)."""
    try:
        return set(open("/proc/cpuinfo", encoding="utf-8").read().split())
    except OSError:
        return set()


def cpu_supports_bf16() -> bool:
    """bfloat16 matrix units on this CPU (AVX512-BF16 or AMX): there bf16 runs ~2x faster than fp32; without them
    it is emulated and slower, so fp32 stays the choice."""
    return bool(cpu_flags() & {"avx512_bf16", "amx_bf16"})


def use_bf16(setting, device: str) -> bool:
    """A recipe's bf16 setting: true/false as given, "auto" (the default) where the hardware has it."""
    if setting in (True, False):
        return setting
    return device == "cuda" or (device == "cpu" and cpu_supports_bf16())


def torch_dtype(setting: str, device):
    """A config's dtype ("float32", "bfloat16", or "auto": bfloat16 where the hardware runs it fast) as torch's."""
    import torch

    if setting == "auto":
        setting = "bfloat16" if use_bf16("auto", torch.device(device).type) else "float32"
    return {"float32": torch.float32, "bfloat16": torch.bfloat16}[setting]


def length_sorted_batches(lengths: list, batch_size: int):
    """Index arrays of at most batch_size items, longest first: similar lengths share a batch, so padding is
    small. Callers write results back by index, so the order they return is the input order."""
    order = np.argsort([-n for n in lengths])
    for start in range(0, len(order), batch_size):
        yield order[start:start + batch_size]


def length_bucket(tokens: int, max_length: int) -> int:
    """The padded length of a text of this many tokens: the next multiple of BUCKET_TOKENS (at most max_length)."""
    return min(max_length, -(-tokens // BUCKET_TOKENS) * BUCKET_TOKENS)


def bucketed_batches(tokenizer, texts: list, max_length: int, batch_size: int, device):
    """(indices, model inputs) for batches of texts whose lengths round up to the same multiple of BUCKET_TOKENS,
    each padded to that length. How much padding a text gets depends on its own length only, so with the encoder's
    matrix products of one shape (models/encoder.batch_invariant) its vector does not depend on the texts it shares
    a batch with (padding to the batch's longest text changed the float sums, so a probability could move with the
    batch composition: issue #12); and the sentences of one article need a few passes, not one per distinct length
    (the web UI's single article)."""
    import torch

    if not texts:          # the tokenizer fails on an empty list (an article with nothing left to embed)
        return
    ids = tokenizer(texts, truncation=True, max_length=max_length)["input_ids"]
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    by_length = {}
    for i, row in enumerate(ids):
        by_length.setdefault(length_bucket(len(row), max_length), []).append(i)
    for length in sorted(by_length, reverse=True):
        group = by_length[length]
        for start in range(0, len(group), batch_size):
            idx = np.array(group[start:start + batch_size])
            input_ids = torch.tensor([ids[i] + [pad] * (length - len(ids[i])) for i in idx], device=device)
            attention_mask = torch.tensor([[1] * len(ids[i]) + [0] * (length - len(ids[i])) for i in idx],
                                          device=device)
            yield idx, {"input_ids": input_ids, "attention_mask": attention_mask}


@contextlib.contextmanager
def quiet_transformers():
    """Silence transformers' load-time reports (an unused pooler "missing", progress bars, peft's deprecation notices) while a
    model loads, and restore the host program's own logging settings afterwards."""
    import warnings

    from transformers.utils import logging as hf_logging

    level, bars = hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            yield
    finally:
        hf_logging.set_verbosity(level)
        if bars:
            hf_logging.enable_progress_bar()
