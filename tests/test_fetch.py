from pathlib import Path

import numpy as np

from cooplens.models.fetch import dequantize_q4_0


def test_q4_0_block_dequantizes_low_nibbles_first_then_high():
    scale = np.float16(0.5).tobytes()
    nibbles = bytes((j % 16) | ((15 - j % 16) << 4) for j in range(16))   # weight j: j, weight j+16: 15-j
    weights = dequantize_q4_0(scale + nibbles, 1, 32)[0]
    assert np.allclose(weights[:16], (np.arange(16) - 8) * 0.5)
    assert np.allclose(weights[16:], (15 - np.arange(16) - 8) * 0.5)


def test_packaged_e5_aligns_languages(e5_path):
    """The dequantized e5 is the real model: a Persian sentence sits next to its English translation."""
    from cooplens.models.encoder import SentenceEncoder

    encoder = SentenceEncoder(e5_path)
    fa, en, other = encoder.encode([
        "وزارت بهداشت ایران و سازمان جهانی بهداشت تفاهم‌نامه همکاری امضا کردند.",
        "Iran's health ministry and the World Health Organization signed a cooperation agreement.",
        "The football team won the championship after a penalty shoot-out."])
    assert fa @ en > fa @ other + 0.1
    assert abs(np.linalg.norm(fa) - 1) < 1e-5


def test_an_encoder_in_bfloat16_loads_from_a_checked_bf16_copy(e5_path, tmp_path, monkeypatch):
    """The copy holds exactly the fp32 weights rounded to bfloat16, is made once, and is made again when it fails its
    hash check; the encoder reads the same vectors from it as from casting the fp32 weights."""
    import torch
    from safetensors.torch import load_file

    from cooplens.models.encoder import SentenceEncoder
    from cooplens.models.fetch import bfloat16_copy

    monkeypatch.setenv("COOPLENS_CACHE", str(tmp_path))
    copy = bfloat16_copy(e5_path)
    weights = load_file(str(copy / "model.safetensors"))
    original = load_file(str(next(Path(e5_path).glob("*.safetensors"))))
    name = next(n for n in weights if n.endswith("query.weight"))
    assert weights[name].dtype == torch.bfloat16 and torch.equal(weights[name], original[name].to(torch.bfloat16))
    made = (copy / "model.safetensors").stat().st_mtime_ns
    assert bfloat16_copy(e5_path) == copy and (copy / "model.safetensors").stat().st_mtime_ns == made
    (copy / "config.json").write_text((copy / "config.json").read_text() + " ")      # tampered: made again
    assert bfloat16_copy(e5_path) == copy and (copy / "model.safetensors").stat().st_mtime_ns != made

    text = ["وزارت بهداشت ایران و سازمان جهانی بهداشت تفاهم‌نامه همکاری امضا کردند."]
    from_copy = SentenceEncoder(e5_path, "cpu", dtype="bfloat16")
    assert next(from_copy.model.parameters()).dtype == torch.bfloat16
    cast = SentenceEncoder(e5_path, "cpu")
    cast.model = cast.model.to(torch.bfloat16)
    assert np.array_equal(from_copy.encode(text), cast.encode(text))
