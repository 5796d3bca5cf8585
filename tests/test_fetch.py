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
