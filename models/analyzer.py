"""The Analyzer: loads a cooplens model folder once and turns articles into AnalysisResults.
It is the only place that knows how a result is assembled; the CLI, the UI and the evaluation call it.

A model folder holds cooplens.json (what to load and how), taxonomy.yaml, and the weights it names:
  {"format": "cooplens/1", "name": ..., "version": ...,
   "classifier": {"kind": "prototype", "encoder": "e5-small", "calibration": {...}, "thresholds": {...}}
              or {"kind": "sequence_classification", "path": ".", "head": {...}, "thresholds": {...}},
   "summarizer": {"kind": "digest"} or {"kind": "generated", "path": "summarizer" | folder | hub id, "num_beams": 1}}
The structured digest is always made (`digest`); with a generator, `summary_en` is the generated summary after the
faithfulness guard (models/faithfulness.py), and the digest stays beside it.
"""
import json
from importlib import resources
from pathlib import Path

from cooplens.models.classifier import PrototypeClassifier, SequenceClassifier
from cooplens.models.encoder import SentenceEncoder
from cooplens.models.faithfulness import guard_summary
from cooplens.models.fetch import resolve_base_model
from cooplens.models.langid import detect_language, language_warnings
from cooplens.models.parties import Gazetteer, estimate_scope
from cooplens.models.schema import AnalysisResult, Evidence, TypeScore
from cooplens.models.summarizer import DigestSummarizer, GenerativeSummarizer, generator_input
from cooplens.models.taxonomy import load_taxonomy
from cooplens.models.text import InputError, prepare

DEFAULT_MODEL = "cooplens-e5-lora"
UNSURE_BAND = (0.35, 0.65)


def shipped_model_path(name: str) -> Path | None:
    folder = Path(str(resources.files("cooplens.models") / "shipped" / name))
    return folder if (folder / "cooplens.json").exists() else None


class Analyzer:
    def __init__(self, folder: Path, config: dict, device: str | None = None):
        self.folder = folder
        self.config = config
        self.taxonomy = load_taxonomy(folder / "taxonomy.yaml")
        self.gazetteer = Gazetteer.load()
        spec = config["classifier"]
        self.thresholds = spec.get("thresholds", {})
        self.cooperation_threshold = spec.get("cooperation_threshold", 0.5)
        if spec["kind"] == "prototype":
            encoder_path = resolve_base_model(spec["encoder"])
            self.classifier = PrototypeClassifier(SentenceEncoder(encoder_path, device), self.taxonomy,
                                                  spec["calibration"])
        elif spec["kind"] == "sequence_classification":
            self.classifier = SequenceClassifier(folder / spec.get("path", "."), self.taxonomy, spec["head"], device,
                                                 base_model=spec.get("base_model"))
        else:
            raise ValueError(f"{folder}/cooplens.json: unknown classifier kind {spec['kind']!r}")
        summ = config.get("summarizer", {"kind": "digest"})
        self.digest = DigestSummarizer()
        self.generator = None
        if summ["kind"] == "generated":
            local = folder / summ["path"]     # relative to the model folder, else a folder or hub id as given
            self.generator = GenerativeSummarizer(local if local.exists() else summ["path"], device,
                                                  num_beams=summ.get("num_beams", 1))
        self.model_info = {"name": config["name"], "version": config.get("version", ""),
                           "classifier": spec["kind"], "summarizer": summ["kind"],
                           "base_models": config.get("base_models", [])}

    @classmethod
    def from_pretrained(cls, name_or_path: str | None = None, device: str | None = None,
                        summarizer: str | None = None) -> "Analyzer":
        """A shipped model name (default: the fine-tuned e5 model) or a cooplens model folder. summarizer
        replaces the folder's own: "digest", a summarizer folder (`cooplens train-summarizer`), or a seq2seq /
        decoder checkpoint folder or hub id."""
        name_or_path = name_or_path or DEFAULT_MODEL
        folder = shipped_model_path(name_or_path) or Path(name_or_path).expanduser()
        config_file = folder / "cooplens.json"
        if not config_file.exists():
            raise FileNotFoundError(
                f"{name_or_path!r} is neither a shipped cooplens model nor a folder with cooplens.json "
                f"(train one with `cooplens train`, or omit --model for the default)")
        config = json.loads(config_file.read_text(encoding="utf-8"))
        if summarizer:
            config["summarizer"] = {"kind": "digest"} if summarizer == "digest" else {"kind": "generated",
                                                                                     "path": summarizer}
        return cls(folder, config, device)

    def analyze(self, texts: list, ids: list | None = None, batch_size: int = 16) -> list:
        """Analyse articles (str, or dict with 'text' and optional 'title'). One result per input, in order;
        an input that cannot be analysed gets a result with `error` set instead of raising."""
        ids = ids or [str(i) for i in range(len(texts))]
        results = []
        for start in range(0, len(texts), batch_size):
            results.extend(self._analyze_batch(texts[start:start + batch_size], ids[start:start + batch_size]))
        return results

    def _analyze_batch(self, texts: list, ids: list) -> list:
        prepared, languages, failures = {}, {}, {}
        for i, item in enumerate(texts):
            raw = item if isinstance(item, str) else "\n".join(p for p in (item.get("title"), item.get("text")) if p)
            try:
                lang = detect_language(raw) if isinstance(raw, str) and raw.strip() else None
                prepared[i] = prepare(raw, lang.code if lang else None)
                languages[i] = lang
            except InputError as err:
                failures[i] = str(err)
        order = sorted(prepared)
        outputs = dict(zip(order, self.classifier.predict([prepared[i].sentences for i in order])))
        results = [None] * len(texts)
        for i in failures:
            results[i] = AnalysisResult.failed(ids[i], failures[i], self.model_info)
        parties = {i: self.gazetteer.find(prepared[i].text, languages[i].code) for i in order}
        for i in order:
            results[i] = self._assemble(ids[i], prepared[i], languages[i], outputs[i], parties[i])
        if self.generator and order:
            self._add_generated_summaries([results[i] for i in order], [prepared[i] for i in order],
                                          [parties[i] for i in order])
        return results

    def _assemble(self, item_id, prepared, lang, output, parties: list) -> AnalysisResult:
        warnings = list(prepared.warnings) + language_warnings(lang)
        is_coop = output.cooperation_prob >= self.cooperation_threshold
        types = sorted((TypeScore(name, round(p, 4), is_coop and p >= self.thresholds.get(name, 0.5),
                                  self.thresholds.get(name, 0.5))
                        for name, p in output.type_probs.items()), key=lambda t: -t.probability)
        predicted = [t.name for t in types if t.predicted]
        if is_coop and not predicted:
            warnings.append("cooperation detected but no type passed its threshold: see the probabilities")
        scope_probs = self._scope_probabilities(output.scope_probs, estimate_scope(parties, lang.code))
        scope = max(scope_probs, key=scope_probs.get) if is_coop else None
        evidence = [Evidence(name, prepared.sentences[j], round(score, 4))
                    for name in predicted for j, score in output.evidence.get(name, [])]
        low, high = UNSURE_BAND
        if low <= output.cooperation_prob <= high or any(low <= t.probability <= high for t in types if t.predicted):
            warnings.append("low confidence: a probability near the decision threshold")
        key_sentence = evidence[0].sentence if evidence else prepared.sentences[0]
        summary = self.digest.summarize(prepared.text, lang.code, parties,
                                        [self.taxonomy.labels[n] for n in predicted], scope, key_sentence)
        return AnalysisResult(
            id=item_id, language=lang.code, language_confidence=lang.confidence, is_cooperation=is_coop,
            cooperation_probability=round(output.cooperation_prob, 4), types=types,
            primary_type=predicted[0] if predicted else None, scope=scope,
            scope_probabilities={k: round(v, 4) for k, v in scope_probs.items()},
            summary_en=summary, summary_kind="digest", evidence=evidence, warnings=warnings,
            model=self.model_info, digest=summary)

    @staticmethod
    def _scope_probabilities(model_probs: dict, party_probs: dict) -> dict:
        """The scope head's probabilities times the evidence of the parties named (countries, international
        organisations), renormalised; the party estimate alone when the model has no scope head.
        Chosen on dev: the product matched or beat either source alone (eval/RESULTS.md)."""
        if not model_probs:
            return party_probs
        product = {s: model_probs[s] * party_probs.get(s, 1.0) for s in model_probs}
        total = sum(product.values())
        return {s: p / total for s, p in product.items()}

    def _add_generated_summaries(self, results, prepared_list, parties: list) -> None:
        """Generate English summaries for a batch, then keep only what traces to the source (the guard)."""
        max_chars = self.generator.settings.get("max_source_chars", 1200)
        items = [generator_input(p.sentences, r.language, [party.display() for party in found], max_chars)
                 for r, p, found in zip(results, prepared_list, parties)]
        for result, prepared, found, summary in zip(results, prepared_list, parties, self.generator.generate(items)):
            if not summary:
                result.warnings.append("the generator returned an empty summary: showing the digest")
                continue
            guarded = guard_summary(summary, prepared.text, found, lambda text: self.gazetteer.find(text, "en"))
            result.summary_check = guarded.as_dict()
            result.warnings.extend(guarded.warnings())
            if guarded.text:                # else the digest stays: nothing generated could be traced
                result.summary_en, result.summary_kind = guarded.text, "generated"
