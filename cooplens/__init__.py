"""cooplens: what kind of cooperation a news article reports, with evidence and an English summary.

The code lives in the repository's top-level folders (models/, training/, serve/, eval/), installed as
cooplens.models, cooplens.training, ... This module only re-exports the one object callers need.
"""
__version__ = "0.1.0"


def __getattr__(name):
    # Lazy so that `import cooplens` (e.g. for the CLI's --help) does not import torch.
    if name == "Analyzer":
        from cooplens.models.analyzer import Analyzer
        return Analyzer
    raise AttributeError(name)
