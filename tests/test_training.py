"""A tiny but real fine-tuning run end to end: corpus -> Trainer -> model folder -> Analyzer."""
import json

import pytest
import torch
from transformers import BertConfig, BertModel


@pytest.fixture(scope="module")
def tiny_encoder(tmp_path_factory, e5_path):
    """A 2-layer random BERT with e5's tokenizer: the real code path in seconds."""
    from transformers import AutoTokenizer

    folder = tmp_path_factory.mktemp("tiny-bert")
    tokenizer = AutoTokenizer.from_pretrained(e5_path)
    torch.manual_seed(0)        # its random weights must not depend on the tests that ran before (they once gave NaN)
    BertModel(BertConfig(vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                         intermediate_size=64, max_position_embeddings=512, pad_token_id=1)).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.mark.slow
@pytest.mark.parametrize("method", ["full", "lora", "head"])
def test_train_saves_a_folder_the_analyzer_loads(tmp_path, tiny_corpus, tiny_encoder, method):
    from cooplens.models.analyzer import Analyzer
    from cooplens.training.train_classifier import train

    out = train({"base_model": str(tiny_encoder), "corpus": str(tiny_corpus), "output": str(tmp_path / method),
                 "method": method, "epochs": 1, "batch_size": 8, "max_length": 64, "device": "cpu"})
    config = json.loads((out / "cooplens.json").read_text())
    assert config["classifier"]["kind"] == ("embedding_head" if method == "head" else "sequence_classification")
    card = (out / "MODEL_CARD.md").read_text()
    for field in ("base model", "data:", "labels:", "Metrics", "date:"):
        assert field in card
    assert set(config["classifier"]["thresholds"]) == set(config["classifier"]["head"]["type_names"])
    assert len(config["classifier"]["calibration"]["types"]) == 8
    assert config["training"]["recipe"]["epochs"] == 1           # the folder carries its own recipe
    assert (out / "taxonomy.yaml").exists()
    result = Analyzer.from_pretrained(str(out)).analyze(["Iran and Iraq signed a health memorandum in Baghdad."])[0]
    assert result.error is None and len(result.types) == 8 and set(result.scope_probabilities) == {
        "domestic", "bilateral", "multilateral"}
    assert abs(sum(result.scope_probabilities.values()) - 1) < 1e-3


def test_cached_embeddings_know_another_model_saved_at_the_same_path(tmp_path, tiny_encoder, monkeypatch):
    """A local base folder is named in the embedding cache by its weight files too: another random encoder saved at
    the same path is embedded anew (stale embeddings of an earlier model once trained a head that gave NaN)."""
    import shutil

    import numpy as np

    from cooplens.models.encoder import SentenceEncoder
    from cooplens.training.train_classifier import cached_embeddings

    monkeypatch.setenv("COOPLENS_CACHE", str(tmp_path / "cache"))
    folder = tmp_path / "encoder"
    shutil.copytree(tiny_encoder, folder)
    cfg = {"base_model": str(folder), "window_tokens": 64, "input_prefix": "query: "}
    texts = ["Iran and Iraq signed a health memorandum in Baghdad."]
    first = cached_embeddings(SentenceEncoder(str(folder)), texts, cfg)
    torch.manual_seed(1)
    BertModel(BertConfig.from_pretrained(folder)).save_pretrained(folder)
    second = cached_embeddings(SentenceEncoder(str(folder)), texts, cfg)
    assert not np.allclose(first, second)
    assert np.array_equal(cached_embeddings(SentenceEncoder(str(folder)), texts, cfg), second)


def test_heads_from_several_seeds_average_into_one_linear_head(tmp_path, tiny_corpus, tiny_encoder):
    """head_seeds: the saved head is the mean of the heads each seed trains alone (so its logits are their mean)."""
    import numpy as np
    import torch
    from safetensors.numpy import load_file

    from cooplens.models.classifier import head_layout
    from cooplens.models.labelled import read_rows
    from cooplens.models.taxonomy import load_taxonomy
    from cooplens.training.train_classifier import DEFAULTS, MultiTaskLoss, train_head

    taxonomy = load_taxonomy()
    rows = [r for r in read_rows(tiny_corpus, taxonomy) if r["split"] == "train"]
    loss_fn = MultiTaskLoss(head_layout(taxonomy), torch.ones(len(taxonomy.types)))
    heads = {}
    for seed, n in ((13, 1), (14, 1), (13, 2)):
        cfg = {**DEFAULTS, "base_model": str(tiny_encoder), "method": "head", "epochs": 2, "batch_size": 8,
               "seed": seed, "head_seeds": n}
        train_head(cfg, rows, taxonomy, loss_fn, "cpu", tmp_path / f"{seed}-{n}")
        heads[seed, n] = load_file(str(tmp_path / f"{seed}-{n}" / "head.safetensors"))
    for name in ("weight", "bias"):
        assert not np.allclose(heads[13, 1][name], heads[14, 1][name])
        np.testing.assert_allclose(heads[13, 2][name], (heads[13, 1][name] + heads[14, 1][name]) / 2, atol=1e-6)

    # ensemble_leave_out: the heads trained on every row averaged with as many trained without the named rows
    left_out = [rows[0]["id"], rows[-1]["id"]]     # id prefixes: one string or a list of them
    cfg = {**DEFAULTS, "base_model": str(tiny_encoder), "method": "head", "epochs": 2, "batch_size": 8, "seed": 13,
           "head_seeds": 1, "max_pos_weight": 1.0}
    kept = [r for r in rows if not r["id"].startswith(tuple(left_out))]
    assert 0 < len(kept) < len(rows)
    train_head(cfg, kept, taxonomy, loss_fn, "cpu", tmp_path / "kept")
    train_head({**cfg, "ensemble_leave_out": left_out}, rows, taxonomy, loss_fn, "cpu", tmp_path / "half")
    without, half = (load_file(str(tmp_path / name / "head.safetensors")) for name in ("kept", "half"))
    for name in ("weight", "bias"):
        np.testing.assert_allclose(half[name], (heads[13, 1][name] + without[name]) / 2, atol=1e-6)

    # cooperation_head_extra: the types and scope from the heads that never saw the named rows, is_cooperation from
    # the heads trained on every row
    train_head({**cfg, "cooperation_head_extra": left_out}, rows, taxonomy, loss_fn, "cpu", tmp_path / "split")
    split = load_file(str(tmp_path / "split" / "head.safetensors"))
    cooperation = head_layout(taxonomy)["cooperation"]
    for name in ("weight", "bias"):
        np.testing.assert_allclose(split[name][:cooperation], without[name][:cooperation], atol=1e-6)
        np.testing.assert_allclose(split[name][cooperation], heads[13, 1][name][cooperation], atol=1e-6)
        assert not np.allclose(split[name][cooperation], without[name][cooperation])


def test_the_embedding_cache_embeds_only_texts_it_has_not_seen(tmp_path, monkeypatch, tiny_encoder):
    """Adding rows to a corpus re-embeds those rows only; cached vectors are the ones the encoder gives."""
    import numpy as np

    from cooplens.models.encoder import SentenceEncoder
    from cooplens.training.train_classifier import DEFAULTS, cached_embeddings

    monkeypatch.setenv("COOPLENS_CACHE", str(tmp_path))
    encoder = SentenceEncoder(str(tiny_encoder), "cpu", 64, 16)
    embedded = []
    encode = encoder.encode
    monkeypatch.setattr(encoder, "encode", lambda texts, prefix="": embedded.append(list(texts)) or encode(texts, prefix))
    cfg = {**DEFAULTS, "base_model": str(tiny_encoder)}
    first = cached_embeddings(encoder, ["Iran sent aid to Iraq.", "A ward opened.", "Iran sent aid to Iraq."], cfg)
    second = cached_embeddings(encoder, ["A ward opened.", "Japan donated X-ray machines."], cfg)
    assert embedded == [["Iran sent aid to Iraq.", "A ward opened."], ["Japan donated X-ray machines."]]
    np.testing.assert_array_equal(first[0], first[2])
    np.testing.assert_array_equal(second[0], first[1])
    np.testing.assert_allclose(second[1], encode(["Japan donated X-ray machines."], cfg["input_prefix"])[0], atol=1e-5)


def test_cooperation_only_rows_teach_is_cooperation_and_nothing_else():
    """cooperation_only: such a row's types and scope are masked out of the loss (its type or scope logits change
    nothing), its is_cooperation target still counts, and the type weights are counted over the unmasked rows."""
    import numpy as np
    import torch

    from cooplens.models.classifier import head_layout
    from cooplens.models.taxonomy import load_taxonomy
    from cooplens.training.train_classifier import multitask_loss, targets

    taxonomy = load_taxonomy()
    layout = head_layout(taxonomy)
    coop = {"id": "a-1", "types": ["aid_donation"], "scope": "bilateral", "is_cooperation": True}
    masked = {"id": "mt-1", "types": ["joint_meeting"], "scope": "domestic", "is_cooperation": True}
    plain = targets(masked, taxonomy)
    only = targets(masked, taxonomy, ("mt-",))
    assert plain[taxonomy.types.index("joint_meeting")] == 1 and (only[:layout["cooperation"]] == -1).all()
    assert only[layout["cooperation"]] == 1

    loss_fn = multitask_loss([coop, masked], taxonomy, 5.0, ("mt-",))
    assert loss_fn.pos_weight[taxonomy.types.index("joint_meeting")] == 1.0     # no positive counted: no weight
    labels = torch.tensor(np.array([targets(coop, taxonomy), only]))
    logits = torch.randn(2, layout["num_labels"], generator=torch.Generator().manual_seed(0))
    moved = logits.clone()
    moved[1, :layout["cooperation"]] += 3.0                   # the masked row's type and scope logits
    assert torch.isclose(loss_fn(logits, labels), loss_fn(moved, labels))
    moved[1, layout["cooperation"]] -= 3.0                    # its is_cooperation logit
    assert not torch.isclose(loss_fn(logits, labels), loss_fn(moved, labels))
