"""The one decision rule: from calibrated probabilities to what a user is told. The Analyzer, the evaluation and
the calibration step all call `decide`, so a reported metric is a metric of what users get."""
from dataclasses import dataclass

from cooplens.models.config import ClassifierConfig


@dataclass(frozen=True)
class Decision:
    is_cooperation: bool
    predicted_types: tuple          # type names over their threshold, most probable first ("" when not cooperation)
    scope: str | None               # the most probable scope; None when not cooperation
    unsure: bool                    # a deciding probability lies inside the unsure band


def decide(type_probs: dict, cooperation_prob: float, scope_probs: dict, config: ClassifierConfig) -> Decision:
    """A type is predicted when the article is cooperation and the type's probability reaches both its own threshold
    and the relative threshold (a share of the most probable type's probability)."""
    is_cooperation = cooperation_prob >= config.cooperation_threshold
    ranked = sorted(type_probs, key=lambda name: -type_probs[name])
    floor = config.relative_threshold * max(type_probs.values(), default=0.0)
    predicted = tuple(name for name in ranked if is_cooperation and type_probs[name] >= config.threshold(name)
                      and type_probs[name] >= floor)
    scope = max(scope_probs, key=scope_probs.get) if is_cooperation and scope_probs else None
    low, high = config.unsure_band
    unsure = low <= cooperation_prob <= high or any(low <= type_probs[name] <= high for name in predicted)
    return Decision(is_cooperation, predicted, scope, unsure)
