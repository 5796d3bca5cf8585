"""The Analyzer: loads a cooplens model folder once and turns articles into AnalysisResults.
It is the only place that knows how a result is assembled; the CLI, the UI and the evaluation call it.

    analyzer = Analyzer.from_pretrained()                 # the shipped default, or a folder, or a shipped name
    results = analyzer.analyze(["...article...", {"title": "...", "text": "..."}])
    for result in analyzer.analyze_stages("...article..."): ...   # the classification first, then the summary
    analyzer.save_pretrained("my-model")                  # a self-contained copy (models/config.py says what)

For each article: prepare (clean, identify the language, normalise, split), classify (calibrated probabilities
and the sentences behind them), decide (models/decision.py), find the parties (gazetteer), make the structured
digest, and, with a generator, the guarded English summary. The result is built once from those values.
"""
import logging
from dataclasses import asdict, dataclass, replace
from importlib import resources
from pathlib import Path

import numpy as np

from cooplens.models.actors import extract_actors
from cooplens.models.card import model_card
from cooplens.models.classifier import HeadClassifier, PrototypeClassifier, SequenceClassifier
from cooplens.models.config import PipelineConfig, SummarizerConfig
from cooplens.models.decision import decide
from cooplens.models.encoder import SentenceEncoder
from cooplens.models.fetch import resolve_base_model
from cooplens.models.langid import language_warnings
from cooplens.models.parties import Gazetteer, distinct_parties, estimate_scope
from cooplens.models.schema import AnalysisResult, Evidence, Summary, TypeScore
from cooplens.models.summarizer import GenerativeSummarizer, content_plan, digest, report_line
from cooplens.models.taxonomy import load_taxonomy, save_taxonomy
from cooplens.models.text import InputError, article_text, informative, prepare

DEFAULT_MODEL = "cooplens-gemma-head"
SHIPPED = Path(str(resources.files("cooplens.models") / "shipped"))
WARM_UP_TEXT = "news " * 2048       # longer than any encoder window: truncated to the longest shape
EVAL_FILE = "metrics.json"          # every dev/test number behind the card's summary, copied along
logger = logging.getLogger("cooplens")


def shipped_model_path(name: str) -> Path | None:
    """The folder of a model shipped with cooplens (a classifier pipeline or a summarizer), if name is one."""
    folder = SHIPPED / name
    return folder if name and "/" not in name and folder.is_dir() else None


def model_folder(name_or_path: str) -> Path | None:
    """The folder of a cooplens model (a shipped name or a folder holding cooplens.json), if it is one."""
    folder = shipped_model_path(name_or_path) or Path(name_or_path).expanduser()
    return folder if (folder / "cooplens.json").exists() else None


def summarizer_location(model: str, folder: Path) -> str:
    """Where a pipeline's summarizer is: a folder inside the model folder, a shipped summarizer, a folder on disk,
    or else a hub id (transformers fetches it when the Hub is reachable)."""
    for candidate in (folder / model, shipped_model_path(model), Path(model).expanduser()):
        if candidate is not None and candidate.is_dir():
            return str(candidate)
    return model


def fuse_scope(model_probs: dict, party_probs: dict) -> dict:
    """The scope head's probabilities times the evidence of the parties named (countries, international
    organisations), renormalised; the party estimate alone when the model has no scope head.
    Chosen on dev: the product matched or beat either source alone (eval/RESULTS.md)."""
    if not model_probs:
        return party_probs
    product = {s: model_probs[s] * party_probs.get(s, 1.0) for s in model_probs}
    total = sum(product.values())
    if not total > 0:
        # each gives 0 to the other's every scope (a sharply calibrated head's probabilities underflow to 0):
        # the head's own answer, not 0 / 0
        return dict(model_probs)
    return {s: p / total for s, p in product.items()}


def key_sentences(prepared, output, decision) -> list:
    """Sentence indices an English summary should cover: the best evidence of each predicted type, most probable
    type first; without a predicted type, the informative sentences after the lead."""
    chosen = [output.evidence[name][0][0] for name in decision.predicted_types if output.evidence.get(name)]
    if not chosen:
        chosen = [j for j, s in enumerate(prepared.sentences[1:4], start=1) if informative(s)]
    return list(dict.fromkeys(chosen))


class SourceSimilarity:
    """similarity(english, sources): each English sentence's cosine similarity to the closest source sentence. One
    per batch: a source sentence is embedded once however many translations are checked against it (each key
    sentence's translation is checked against the article's lead too)."""

    def __init__(self, embed):
        self.embed = embed
        self.vectors = {}

    def __call__(self, english: list, sources: list) -> list:
        new = [s for s in dict.fromkeys(sources) if s not in self.vectors]
        vectors = self.embed(english + new)
        self.vectors.update(zip(new, vectors[len(english):]))
        return (vectors[:len(english)] @ np.stack([self.vectors[s] for s in sources]).T).max(axis=1).tolist()

    def prefetch(self, sources: list, stop) -> None:
        """Embed source sentences ahead of the checks that will need them, one at a time until stop (an Event) is
        set; the checks embed the rest. A vector is the same alone or in any batch, so the scores do not change."""
        for sentence in dict.fromkeys(sources):
            if stop.is_set():
                return
            if sentence not in self.vectors:
                self.vectors[sentence] = self.embed([sentence])[0]


def setting_value(current, value):
    """A --set value (a string from the command line, or a value from Python) as the type of the setting it replaces;
    "none" unsets it (a check switched off), and a number replaces an unset one (a check switched on)."""
    if not isinstance(value, str) or isinstance(current, str):
        return value
    if value.strip().lower() == "none":
        return None
    if current is None:
        try:
            return float(value)
        except ValueError:
            return value
    if isinstance(current, bool):
        return value.strip().lower() in ("1", "true", "yes")
    if isinstance(current, (list, tuple)):
        return type(current)(float(v) for v in value.split(","))
    return type(current)(value)


def raw_article(item) -> str:
    """An input as one string: a text, or a {"title", "text"} mapping. Anything else is an input error."""
    if isinstance(item, str):
        return item
    if isinstance(item, dict) and isinstance(item.get("text"), str) and isinstance(item.get("title") or "", str):
        return article_text(item.get("title"), item["text"])
    raise InputError("an article is a string, or an object with a string 'text' (and optional string 'title')")


@dataclass
class Classified:
    """A batch after classification, before its English summaries: what the summarizer reads and the results are
    built from (per prepared article, in input order; failures by input index)."""
    ids: list
    failures: dict
    order: list
    articles: list
    outputs: list
    mentions: list
    parties: list
    decided: list
    reports: list
    digests: list
    keys: list
    actors: list


class Analyzer:
    def __init__(self, folder: Path, config: PipelineConfig, device: str | None = None):
        self.folder = Path(folder)
        self.config = config
        self.taxonomy = load_taxonomy(self.folder / "taxonomy.yaml")
        self.gazetteer = Gazetteer.load()
        spec = config.classifier
        if spec.kind == "prototype":
            encoder = SentenceEncoder(resolve_base_model(spec.base_model), device)
            self.classifier = PrototypeClassifier(encoder, self.taxonomy, spec)
        elif spec.kind == "sequence_classification":
            self.classifier = SequenceClassifier(self.folder, self.taxonomy, spec, device)
        elif spec.kind == "embedding_head":
            self.classifier = HeadClassifier(self.folder, self.taxonomy, spec, device)
        else:
            raise ValueError(f"{self.folder}/cooplens.json: unknown classifier kind {spec.kind!r}")
        self.generator = None
        if config.summarizer.kind == "generated":
            self.generator = GenerativeSummarizer(summarizer_location(config.summarizer.model, self.folder), device,
                                                  num_beams=config.summarizer.num_beams,
                                                  batch_size=config.summarizer.batch_size,
                                                  dtype=config.summarizer.dtype, engine=config.summarizer.engine,
                                                  quantization=config.summarizer.quantization,
                                                  english_tokens=config.summarizer.english_tokens)
        # One full-length encoder pass once every model is loaded. In about half of the processes that had just
        # loaded the transformers generator, the first pass gave full-length windows other vectors than every later
        # pass did (a type probability moved by up to 0.006); no later pass differed, and with this pass no first
        # one did (eval/RESULTS.md; the cause inside the CPU kernels is not found). It costs 0.25 s.
        self.classifier.embed([WARM_UP_TEXT])

    @classmethod
    def from_pretrained(cls, name_or_path: str | None = None, device: str | None = None,
                        summarizer: str | None = None, settings: dict | None = None) -> "Analyzer":
        """A shipped model name (default: DEFAULT_MODEL) or a cooplens model folder. summarizer
        replaces the folder's own: "digest", a summarizer folder (`cooplens train-summarizer`), or a seq2seq /
        decoder checkpoint folder or hub id. settings overrides config values by dotted name
        ({"summarizer.strategy": "translate", "classifier.relative_threshold": 0.5})."""
        name_or_path = name_or_path or DEFAULT_MODEL
        folder = model_folder(name_or_path)
        if folder is None:
            raise FileNotFoundError(
                f"{name_or_path!r} is neither a shipped cooplens model nor a folder with cooplens.json "
                f"(train one with `cooplens train`, or omit --model for the default)")
        config = PipelineConfig.load(folder)
        for dotted, value in (settings or {}).items():
            part, _, name = dotted.partition(".")
            section = getattr(config, part, None)
            if section is None or not hasattr(section, name):
                raise ValueError(f"unknown setting {dotted!r} (see models/config.py)")
            setattr(section, name, setting_value(getattr(section, name), value))
        if summarizer:
            config.summarizer = (SummarizerConfig("digest") if summarizer == "digest" else
                                 replace(config.summarizer, kind="generated", model=summarizer))
        return cls(folder, config, device)

    def save_pretrained(self, folder: str | Path) -> Path:
        """Write a self-contained model folder named after the folder: config, taxonomy, the classifier's
        weights, the summarizer (by name when it is a shipped one, else copied in as `summarizer/`), and the model
        card written from the config. The only writer of model folders (`cooplens package` calls it)."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        config = replace(self.config, name=folder.name, summarizer=replace(self.config.summarizer))
        save_taxonomy(self.taxonomy, folder)
        self.classifier.save_pretrained(folder)
        if self.generator and not shipped_model_path(config.summarizer.model or ""):
            self.generator.save_pretrained(folder / "summarizer")
            config.summarizer.model = "summarizer"
        config.base_models = list(dict.fromkeys([config.classifier.base_model] + (
            [self.generator.settings.base_model] if self.generator else [])))
        if (self.folder / EVAL_FILE).exists() and self.folder.resolve() != folder.resolve():
            (folder / EVAL_FILE).write_bytes((self.folder / EVAL_FILE).read_bytes())
        config.save(folder)
        (folder / "MODEL_CARD.md").write_text(model_card(config, self.taxonomy.types, self.taxonomy.scopes),
                                              encoding="utf-8")
        return folder

    def without_generator(self) -> "Analyzer":
        """The same loaded models with the digest as the summary (a timing baseline, a faster batch job)."""
        twin = object.__new__(Analyzer)
        twin.__dict__.update(self.__dict__)
        twin.config = replace(self.config, summarizer=SummarizerConfig("digest"))
        twin.generator = None
        return twin

    @property
    def model_info(self) -> dict:
        return {"name": self.config.name, "version": self.config.version, "classifier": self.config.classifier.kind,
                "summarizer": self.config.summarizer.kind, "base_models": self.config.base_models,
                "encoder_dtype": self.encoder_dtype}

    @property
    def encoder_dtype(self) -> str:
        """The dtype the classifier's encoder runs in: "auto" resolves by hardware, and bfloat16 moves a probability
        in its third decimal, so every result says which it was."""
        encoder = getattr(self.classifier, "encoder", self.classifier).model
        return str(encoder.dtype).removeprefix("torch.")

    @property
    def thresholds(self) -> dict:
        return {t: self.config.classifier.threshold(t) for t in self.taxonomy.types}

    def analyze(self, texts: list, ids: list | None = None, batch_size: int = 16) -> list:
        """Analyse articles (str, or dict with 'text' and optional 'title'). One result per input, in order;
        an input that cannot be analysed gets a result with `error` set instead of raising."""
        ids = ids or [str(i) for i in range(len(texts))]
        results = []
        for start in range(0, len(texts), batch_size):
            chunk, chunk_ids = texts[start:start + batch_size], ids[start:start + batch_size]
            try:
                results.extend(self._analyze_batch(chunk, chunk_ids))
            except Exception:       # one bad article must not sink its batch: retry one by one
                logger.exception("batch failed; analysing its %d articles one at a time", len(chunk))
                results.extend(self._analyze_alone(item, item_id) for item, item_id in zip(chunk, chunk_ids))
        return results

    def _analyze_alone(self, item, item_id: str) -> AnalysisResult:
        try:
            return self._analyze_batch([item], [item_id])[0]
        except Exception as err:
            logger.exception("article %r failed", item_id)
            return AnalysisResult.failed(item_id, f"internal error while analysing this article "
                                                  f"({type(err).__name__}: {err}); please report it",
                                         self.model_info)

    def analyze_stages(self, item, item_id: str = "0"):
        """One article in two steps, so that a reader does not wait for the English summary: first the result with
        the summary pending (summary_kind "pending": the types, evidence, actors and digest are final), then the
        whole result. Without a generator, or for a text that cannot be analysed, the whole result comes at once."""
        try:
            classified = self._classify([item], [item_id])
            if self.generator and classified.articles:
                yield self._results(classified, [Summary(d, "pending") for d in classified.digests])[0]
            yield self._results(classified, self._summaries(classified))[0]
        except Exception:
            yield self._analyze_alone(item, item_id)

    def _analyze_batch(self, texts: list, ids: list) -> list:
        classified = self._classify(texts, ids)
        return self._results(classified, self._summaries(classified))

    def _classify(self, texts: list, ids: list) -> Classified:
        """Everything but the English summary: prepare, classify, decide, parties, actors, digest, key sentences."""
        prepared, failures = {}, {}
        for i, item in enumerate(texts):
            try:
                prepared[i] = prepare(raw_article(item), self.config.text)
            except InputError as err:
                failures[i] = str(err)
        order = sorted(prepared)
        articles = [prepared[i] for i in order]
        outputs = self.classifier.predict([p.sentences for p in articles])
        mentions = [self.gazetteer.mentions(p.text, p.language.code) for p in articles]
        parties = [distinct_parties(found) for found in mentions]
        decided = [self._decide(p, output, found) for p, output, found in zip(articles, outputs, parties)]
        reports = [report_line(p.language.code, found, [self.taxonomy.labels[n] for n in decision.predicted_types],
                               decision.scope) for p, found, (decision, _, _) in zip(articles, parties, decided)]
        digests = [digest(p.text, p.language.code, report, (evidence[0].sentence if evidence else p.sentences[0]))
                   for p, report, (_, _, evidence) in zip(articles, reports, decided)]
        keys = [key_sentences(p, output, d) for p, output, (d, _, _) in zip(articles, outputs, decided)]
        actors = [extract_actors(p, named, d.predicted_types, evidence)
                  for p, named, (d, _, evidence) in zip(articles, mentions, decided)]
        return Classified(ids, failures, order, articles, outputs, mentions, parties, decided, reports, digests, keys,
                          actors)

    def _summaries(self, c: Classified) -> list:
        """The English summaries of a classified batch: guarded generations (or abstentions), else the digests."""
        if not (self.generator and c.articles):
            return [Summary(d, "digest") for d in c.digests]
        return self.generator.summarize(
            c.articles, c.mentions, c.reports, self.gazetteer, self.config.summarizer, c.keys,
            self.plans(c.articles, c.mentions, c.decided), SourceSimilarity(self.embed_for_support),
            # an abstention quotes the best evidence of the top type (a cooperation article), else the lead
            [k[0] if d.predicted_types and k else None for k, (d, _, _) in zip(c.keys, c.decided)], c.actors)

    def _results(self, c: Classified, summaries: list) -> list:
        results = [None] * len(c.ids)
        for i, error in c.failures.items():
            results[i] = AnalysisResult.failed(c.ids[i], error, self.model_info)
        for i, p, output, found, actors_i, decided_i, digest_text, summary in zip(
                c.order, c.articles, c.outputs, c.parties, c.actors, c.decided, c.digests, summaries):
            results[i] = self._result(c.ids[i], p, output, found, actors_i, *decided_i, digest_text, summary)
        return results

    def plans(self, articles: list, mentions: list, decided: list) -> list:
        """The content plans a plan-trained generator reads (training writes them alike); None for any other."""
        if not self.generator.settings.content_plan:
            return [None] * len(articles)
        return [content_plan([self.taxonomy.labels[n] for n in d.predicted_types],
                             extract_actors(p, named, d.predicted_types, []), p.text)
                for p, named, (d, _, _) in zip(articles, mentions, decided)]

    def embed_for_support(self, texts: list):
        """Unit vectors for the guard's support check, with the encoder's sentence-similarity prompt."""
        return self.classifier.embed(texts, self.config.summarizer.support_prefix)

    def _decide(self, prepared, output, parties: list) -> tuple:
        """The decision, the fused scope probabilities, and the evidence sentences of each predicted type."""
        scope_probs = fuse_scope(output.scope_probs, estimate_scope(parties, prepared.language.code,
                                                                    self.taxonomy.scopes))
        decision = decide(output.type_probs, output.cooperation_prob, scope_probs, self.config.classifier)
        evidence = [Evidence(name, prepared.sentences[j], round(score, 4), *prepared.spans[j])
                    for name in decision.predicted_types for j, score in output.evidence.get(name, [])]
        return decision, scope_probs, evidence

    def _result(self, item_id, prepared, output, parties, actors, decision, scope_probs, evidence, digest_text,
                summary):
        types = sorted((TypeScore(name, round(p, 4), name in decision.predicted_types,
                                  self.config.classifier.threshold(name))
                        for name, p in output.type_probs.items()), key=lambda t: -t.probability)
        warnings = list(prepared.warnings) + language_warnings(prepared.language)
        if decision.is_cooperation and not decision.predicted_types:
            warnings.append("cooperation detected but no type passed its threshold: see the probabilities")
        if decision.unsure:
            warnings.append("low confidence: a probability near the decision threshold")
        predicted = [t.name for t in types if t.predicted]
        return AnalysisResult(
            id=item_id, language=prepared.language.code, language_confidence=prepared.language.confidence,
            is_cooperation=decision.is_cooperation, cooperation_probability=round(output.cooperation_prob, 4),
            types=types, primary_type=predicted[0] if predicted else None, scope=decision.scope,
            scope_probabilities={k: round(v, 4) for k, v in scope_probs.items()},
            summary_en=summary.text, summary_kind=summary.kind, evidence=evidence,
            warnings=warnings + list(summary.warnings), model=self.model_info, digest=digest_text,
            summary_check=summary.check, parties=[asdict(p) for p in parties], actors=actors,
            source_text=prepared.text)
