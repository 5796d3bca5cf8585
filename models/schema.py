"""The one result schema used by the Analyzer, the batch CLI, the UI and the evaluation. A result is built once,
from values (the decision, the evidence, the summary), and never changed afterwards; a row that could not be
analysed has the same fields, with `error` set."""
from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class TypeScore:
    name: str
    probability: float
    predicted: bool         # the decision rule's verdict (models/decision.py)
    threshold: float


@dataclass(frozen=True)
class Evidence:
    type: str
    sentence: str
    score: float            # how strongly this sentence supports the type (model score, 0..1)
    start: int              # character offsets of the sentence in the analysed (normalised) text
    end: int


@dataclass(frozen=True)
class Summary:
    """An English summary as the summarizer hands it over: what to show, what it is, and what was checked."""
    text: str
    kind: str                                        # "generated" | "abstained" | "digest" | "pending"
    check: dict = field(default_factory=dict)        # the faithfulness guard's record of a generated summary
    warnings: tuple = ()


@dataclass
class AnalysisResult:
    id: str
    language: str
    language_confidence: float
    is_cooperation: bool
    cooperation_probability: float
    types: list                      # TypeScore for every taxonomy type, sorted by probability
    primary_type: str | None
    scope: str | None
    scope_probabilities: dict        # scope -> probability
    summary_en: str
    summary_kind: str                # "generated" | "abstained" (nothing passed the guard) | "digest" | "none" |
                                     #   "pending" (Analyzer.analyze_stages: the summary follows)
    evidence: list                   # Evidence for each predicted type
    warnings: list = field(default_factory=list)
    model: dict = field(default_factory=dict)
    error: str | None = None
    digest: str = ""                 # the structured digest (parties, types, dates, figures): always made
    summary_check: dict = field(default_factory=dict)   # the faithfulness guard's record of a generated summary
    parties: list = field(default_factory=list)         # gazetteer parties named: {"en", "kind", "country"}
    actors: list = field(default_factory=list)          # who did what: {"name", "kind", "country", "role",
                                                        #   "source_text", "start", "end"} (models/actors.py)
    source_text: str = ""            # the normalised text the offsets in `evidence` refer to (not in batch rows)

    @property
    def predicted_types(self) -> list:
        return [t.name for t in self.types if t.predicted]

    def to_dict(self, with_source: bool = False) -> dict:
        out = asdict(self)
        out["predicted_types"] = self.predicted_types
        if not with_source:
            del out["source_text"]
        return out

    @classmethod
    def failed(cls, item_id: str, error: str, model: dict) -> "AnalysisResult":
        """A row that could not be analysed still appears in every output, with its reason."""
        return cls(id=item_id, language="", language_confidence=0.0, is_cooperation=False,
                   cooperation_probability=0.0, types=[], primary_type=None, scope=None,
                   scope_probabilities={}, summary_en="", summary_kind="none", evidence=[],
                   warnings=[], model=model, error=error)
