"""A sentence encoder over any Hugging Face encoder folder (e5, EmbeddingGemma): mean pooling, L2 normalisation."""
from pathlib import Path

import numpy as np
import torch

from cooplens.models.fetch import bfloat16_copy
from cooplens.models.runtime import bucketed_batches, pick_device, quiet_transformers, torch_dtype


def mean_pool(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    weights = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * weights).sum(1) / weights.sum(1).clamp(min=1e-6)


# rows in every matrix product of an encoder (batch_invariant): 128 and 256 ran at the same speed on 2 cores
INVARIANT_ROWS = 256


class TiledLinear(torch.nn.Module):
    """A linear layer whose every matrix product has exactly INVARIANT_ROWS token rows, the last tile zero-padded."""

    def __init__(self, linear: torch.nn.Linear):
        super().__init__()
        self.weight, self.bias = linear.weight, linear.bias
        self.in_features, self.out_features = linear.in_features, linear.out_features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        rows = x.reshape(-1, self.in_features)
        out = rows.new_empty(len(rows), self.out_features)
        for start in range(0, len(rows), INVARIANT_ROWS):
            tile = rows[start:start + INVARIANT_ROWS]
            if len(tile) < INVARIANT_ROWS:
                tile = torch.cat([tile, tile.new_zeros(INVARIANT_ROWS - len(tile), self.in_features)])
            out[start:start + INVARIANT_ROWS] = torch.nn.functional.linear(tile, self.weight, self.bias)[
                :len(rows) - start]
        return out.reshape(*x.shape[:-1], self.out_features)


def batch_invariant(model):
    """The model with each linear layer run on tiles of INVARIANT_ROWS rows. The CPU's matrix libraries pick a
    kernel by the number of rows (and threads), and kernels sum in different orders: in bfloat16 a text's vector
    moved by up to 0.009 in cosine, and a probability by up to 0.007, with how many texts shared its pass (issue
    #12); in float32, in the 8th digit. With one shape for every product, a row's result depends on that row alone,
    on one machine. It costs about a third more encoder time (eval/RESULTS.md)."""
    for module in list(model.modules()):
        for name, child in list(module.named_children()):
            if type(child) is torch.nn.Linear:
                setattr(module, name, TiledLinear(child))
    return model


class SentenceEncoder:
    """Embeddings with the model's task prefix ('query: ' for e5), mean pooling, unit length."""

    def __init__(self, path: str, device: str | None = None, max_length: int = 512, batch_size: int = 32,
                 dtype: str = "float32"):
        from transformers import AutoModel, AutoTokenizer

        self.path = path
        self.device = pick_device(device)
        dtype = torch_dtype(dtype, self.device)
        with quiet_transformers():     # the pooler we never use is reported missing on every load
            self.tokenizer = AutoTokenizer.from_pretrained(path)
            # a local folder in bfloat16 loads from its bf16 copy: casting fp32 weights first reads all of them
            weights = bfloat16_copy(path) if dtype == torch.bfloat16 and Path(path).is_dir() else path
            self.model = batch_invariant(AutoModel.from_pretrained(weights, dtype=dtype).to(self.device).eval())
        self.max_length = max_length
        self.batch_size = batch_size

    @torch.inference_mode()
    def encode(self, texts: list, prefix: str = "query: ") -> np.ndarray:
        out = np.zeros((len(texts), self.model.config.hidden_size), dtype=np.float32)
        for idx, batch in bucketed_batches(self.tokenizer, [prefix + t for t in texts], self.max_length,
                                           self.batch_size, self.device):
            hidden = self.model(**batch).last_hidden_state
            pooled = torch.nn.functional.normalize(mean_pool(hidden, batch["attention_mask"]), dim=-1)
            out[idx] = pooled.float().cpu().numpy()
        return out
