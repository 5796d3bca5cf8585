"""The one result schema used by the Analyzer, the batch CLI, the UI and the evaluation."""
from dataclasses import asdict, dataclass, field


@dataclass
class TypeScore:
    name: str
    probability: float
    predicted: bool         # probability >= threshold
    threshold: float


@dataclass
class Evidence:
    type: str
    sentence: str
    score: float            # how strongly this sentence supports the type (model score, 0..1)


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
    summary_kind: str                # "generated" | "digest": the UI says which one the user is reading
    evidence: list                   # Evidence for each predicted type
    warnings: list = field(default_factory=list)
    model: dict = field(default_factory=dict)
    error: str | None = None
    digest: str = ""                 # the structured digest (parties, types, dates, figures): always made
    summary_check: dict = field(default_factory=dict)   # the faithfulness guard's record of a generated summary

    @property
    def predicted_types(self) -> list:
        return [t.name for t in self.types if t.predicted]

    def to_dict(self) -> dict:
        out = asdict(self)
        out["predicted_types"] = self.predicted_types
        return out

    @classmethod
    def failed(cls, item_id: str, error: str, model: dict) -> "AnalysisResult":
        """A row that could not be analysed still appears in every output, with its reason."""
        return cls(id=item_id, language="", language_confidence=0.0, is_cooperation=False,
                   cooperation_probability=0.0, types=[], primary_type=None, scope=None,
                   scope_probabilities={}, summary_en="", summary_kind="none", evidence=[],
                   warnings=[], model=model, error=error)
