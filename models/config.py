"""What a cooplens model folder is: one typed config (`cooplens.json`) that says what to load and every setting
inference uses. `PipelineConfig.load(folder)` / `.save(folder)` are the only readers and writers of that file.

A model folder holds
  cooplens.json       this config
  taxonomy.yaml       the label set the model was trained on
  MODEL_CARD.md       base model, data hash, labels, metrics, date
  (weights)           what the classifier kind needs: a LoRA adapter + head, or nothing for the zero-shot model
and names its summarizer: a shipped summarizer by name, a folder inside the model folder, or a hub id. Nothing
in it points outside itself by a relative path, so a copy of the folder loads anywhere.
"""
import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

FORMAT = "cooplens/2"
CONFIG_FILE = "cooplens.json"


def assigned_settings(assignments: list) -> dict:
    """--set SECTION.KEY=VALUE overrides of a model folder's settings (the CLI, eval and the guard audit), by name."""
    return dict(assignment.split("=", 1) for assignment in assignments)


def _known(cls, data: dict) -> dict:
    """The keys of data that are fields of the dataclass cls (a newer writer may add keys: they are kept out)."""
    names = {f.name for f in fields(cls)}
    return {k: v for k, v in data.items() if k in names}


@dataclass
class TextSettings:
    """How much of an input is read: longer texts are cut, and the result says so."""
    max_chars: int = 60_000
    max_sentences: int = 240


@dataclass
class ClassifierConfig:
    kind: str                                  # "sequence_classification" (fine-tuned) | "prototype" (zero-shot)
    base_model: str = "e5-small"               # the encoder: registry name, folder or hub id
    method: str = "lora"                       # sequence_classification: lora | full; prototype: none
    window_tokens: int = 512                   # inference: sentences packed into windows of this many tokens
    input_prefix: str = "query: "              # e5 reads "query: ..." for classification-like tasks
    head: dict = field(default_factory=dict)   # logit layout of the multi-task head (sequence_classification)
    calibration: dict = field(default_factory=dict)   # fitted on dev: Platt / logistic weights, scope temperature
    thresholds: dict = field(default_factory=dict)    # type -> probability above which the type is predicted
    cooperation_threshold: float = 0.5
    # a type is also held to this share of the article's most probable type: one story rarely reports every form
    # of cooperation, and a flat threshold alone over-labels (chosen on the real dev split; 0 turns it off)
    relative_threshold: float = 0.0
    unsure_band: tuple = (0.35, 0.65)          # a deciding probability inside it gets a low-confidence warning
    batch_size: int = 16                       # texts per encoder pass
    dtype: str = "float32"                     # float32 | bfloat16 | auto (bf16 where the CPU/GPU runs it fast)

    def threshold(self, type_name: str) -> float:
        return self.thresholds.get(type_name, 0.5)


@dataclass
class SummarizerConfig:
    kind: str = "digest"                       # "digest" (extracted) | "generated" (a trained generator + guard)
    model: str | None = None                   # shipped summarizer name, folder in the model folder, path or hub id
    # "summary": the article's lead -> an English summary in one generation; "translate": extract-then-translate,
    # the lead and the key (evidence) sentences translated one by one
    strategy: str = "summary"
    key_sentences: int = 3                     # translate: at most this many sentences (the lead first)
    # guard: least similarity of each English sentence to its closest source sentence (the article's first
    # SUPPORT_SENTENCES and the sentence it translates; 0 = unchecked), embedded with support_prefix (the encoder's
    # prompt for sentence similarity; None: the classifier's own input prefix)
    support_threshold: float = 0.0
    support_prefix: str | None = None
    # guard: least source contribution of any token of a sentence, log p(token | prompt with the source) -
    # log p(token | the same prompt without it), scored by the generator itself: a name or claim the source does not
    # explain is one the generator would write anyway (None = unchecked; eval/RESULTS.md, "The guard, measured")
    grounding_threshold: float | None = None
    num_beams: int = 1
    # translations tried per sentence: more than one decodes a beam of that many, and the guard shows the best
    # hypothesis that passes every check instead of abstaining when the best one fails
    candidates: int = 1
    # prompts decoded together; 1: each alone (CTranslate2: one per core), so a summary's text never depends on
    # the articles it shares a batch with (batched greedy decoding can reword it: issue #12)
    batch_size: int = 8
    dtype: str = "float32"                     # float32 | bfloat16 | auto (bf16 where the CPU/GPU runs it fast)
    # "hf": transformers (the reference; GPUs, seq2seq); "ctranslate2": a decoder-only generator converted once
    # to CTranslate2 (CPU), quantization float32 (the HF engine's exact text, faster) or int8 (faster, reworded);
    # "llama.cpp": the published Gemma 3 270M GGUF + the adapter (CPU, the `llamacpp` extra; quantization unused)
    engine: str = "hf"
    quantization: str = "float32"
    # decode over the summarizer folder's English output tokens only (its output_tokens.json; the transformers and
    # CTranslate2 engines, not llama.cpp): the output layer is most of the generator's weights, and greedy text is
    # unchanged wherever the full model's choice is one of them (eval/RESULTS.md, "English output tokens"); a folder
    # without the file decodes every token
    english_tokens: bool = False


@dataclass
class PipelineConfig:
    name: str
    classifier: ClassifierConfig
    summarizer: SummarizerConfig = field(default_factory=SummarizerConfig)
    text: TextSettings = field(default_factory=TextSettings)
    version: str = ""
    base_models: list = field(default_factory=list)
    training: dict = field(default_factory=dict)      # data hash, split sizes, time, hardware, date
    metrics: dict = field(default_factory=dict)       # dev/test summary metrics at packaging time
    format: str = FORMAT

    @classmethod
    def from_dict(cls, data: dict) -> "PipelineConfig":
        data = upgrade(data)
        classifier = dict(data["classifier"])
        if "unsure_band" in classifier:
            classifier["unsure_band"] = tuple(classifier["unsure_band"])
        return cls(**{**_known(cls, data),
                      "classifier": ClassifierConfig(**_known(ClassifierConfig, classifier)),
                      "summarizer": SummarizerConfig(**_known(SummarizerConfig, data.get("summarizer", {}))),
                      "text": TextSettings(**_known(TextSettings, data.get("text", {})))})

    def to_dict(self) -> dict:
        out = asdict(self)
        out["classifier"]["unsure_band"] = list(self.classifier.unsure_band)
        order = ["format", "name", "version", "base_models", "classifier", "summarizer", "text", "training", "metrics"]
        return {k: out[k] for k in order}

    @classmethod
    def load(cls, folder: str | Path) -> "PipelineConfig":
        data = json.loads((Path(folder) / CONFIG_FILE).read_text(encoding="utf-8"))
        data.setdefault("training", {}).setdefault("recipe", old_recipe(folder))
        return cls.from_dict(data)

    def save(self, folder: str | Path) -> None:
        Path(folder, CONFIG_FILE).write_text(json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n",
                                             encoding="utf-8")


def old_recipe(folder: str | Path) -> dict:
    """The training recipe of a folder written before it was kept in the config (training_config.yaml)."""
    import yaml

    path = Path(folder) / "training_config.yaml"
    return yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else {}


def upgrade(data: dict) -> dict:
    """Read a cooplens/1 folder (written before this config existed) as cooplens/2: the summarizer was a path
    relative to the folder, the classifier's inference window and the unsure band were code constants."""
    if data.get("format") != "cooplens/1":
        return data
    data = json.loads(json.dumps(data))
    summarizer = data.get("summarizer", {"kind": "digest"})
    if summarizer.get("kind") == "generated":
        summarizer["model"] = Path(summarizer.pop("path")).name      # "../summarizer-gemma-lora" -> a shipped name
    data["summarizer"] = summarizer
    classifier = data["classifier"]
    if classifier["kind"] == "prototype":
        classifier["base_model"] = classifier.pop("encoder", "e5-small")
        classifier["method"] = "none"
    classifier.pop("path", None)
    head = classifier.get("head", {})
    classifier["calibration"] = head.pop("calibration", classifier.get("calibration", {}))
    classifier["input_prefix"] = head.pop("input_prefix", "query: ")
    data["format"] = FORMAT
    return data


GENERATOR_FILE = "summarizer.json"


@dataclass
class GeneratorSettings:
    """What a summarizer folder is (`summarizer.json`, written by `cooplens train-summarizer`): its base model, how
    it was trained, and the limits it was trained with, which inference must use too."""
    name: str
    base_model: str                          # registry name, folder or hub id (a LoRA adapter names it too)
    kind: str = "causal_lm"                  # causal_lm | seq2seq
    method: str = "lora"                     # lora | full
    max_source_chars: int = 1200             # the lead: whole sentences up to this many characters
    max_source_tokens: int = 320
    max_new_tokens: int = 128
    no_repeat_ngram_size: int = 8            # blocks long loops only (see models/README.md)
    content_plan: bool = False               # trained with a verified plan line (summarizer.content_plan) in its prompt
    training: dict = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)
    format: str = "cooplens-summarizer/1"

    @classmethod
    def load(cls, folder: str | Path) -> "GeneratorSettings | None":
        path = Path(folder) / GENERATOR_FILE
        if not path.exists():
            return None
        data = json.loads(path.read_text(encoding="utf-8"))
        data.setdefault("training", {}).setdefault("recipe", old_recipe(folder))
        return cls(**_known(cls, data))

    def save(self, folder: str | Path) -> None:
        data = {"format": self.format, **{k: v for k, v in asdict(self).items() if k != "format"}}
        Path(folder, GENERATOR_FILE).write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n",
                                                encoding="utf-8")
