"""A sentence encoder over any Hugging Face encoder folder (e5, EmbeddingGemma): mean pooling, L2 normalisation."""
from pathlib import Path

import numpy as np
import torch

from cooplens.models.fetch import bfloat16_copy
from cooplens.models.runtime import bucketed_batches, pick_device, quiet_transformers, torch_dtype


def mean_pool(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    weights = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * weights).sum(1) / weights.sum(1).clamp(min=1e-6)


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
            self.model = AutoModel.from_pretrained(weights, dtype=dtype).to(self.device).eval()
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
