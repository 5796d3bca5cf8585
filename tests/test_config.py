"""What a model folder is: the typed config round-trips, the decision rule is one function, and every shipped
folder is exactly what the code writes from its recipe (no hand edits)."""
import json

import pytest
import yaml

from cooplens.models.analyzer import DEFAULT_MODEL, SHIPPED
from cooplens.models.config import ClassifierConfig, GeneratorSettings, PipelineConfig
from cooplens.models.decision import decide
from conftest import REPO

RECIPES = {"cooplens-gemma-head": "classifier_embeddinggemma_head.yaml", "cooplens-e5-head": "classifier_e5_head.yaml",
           "summarizer-gemma-lora": "summarizer_gemma_lora.yaml"}


def test_the_config_round_trips_and_old_folders_upgrade(tmp_path):
    config = PipelineConfig.load(SHIPPED / DEFAULT_MODEL)
    assert PipelineConfig.from_dict(config.to_dict()) == config
    old = {"format": "cooplens/1", "name": "old", "classifier": {"kind": "sequence_classification", "path": ".",
           "base_model": "e5-small", "head": {"types": [0], "calibration": {"cooperation": [1, 0]},
                                               "input_prefix": "query: "}, "thresholds": {"x": 0.3}},
           "summarizer": {"kind": "generated", "path": "../summarizer-gemma-lora"}}
    upgraded = PipelineConfig.from_dict(old)
    assert upgraded.summarizer.model == "summarizer-gemma-lora"       # a shipped name, not a relative path
    assert upgraded.classifier.calibration == {"cooperation": [1, 0]} and upgraded.classifier.threshold("x") == 0.3


def test_decide_is_the_one_rule():
    spec = ClassifierConfig(kind="sequence_classification", thresholds={"a": 0.4, "b": 0.7})
    probs = {"a": 0.5, "b": 0.6}
    yes = decide(probs, 0.9, {"domestic": 0.2, "bilateral": 0.8}, spec)
    assert yes.is_cooperation and yes.predicted_types == ("a",) and yes.scope == "bilateral" and yes.unsure
    no = decide(probs, 0.2, {"domestic": 0.2, "bilateral": 0.8}, spec)
    assert not no.is_cooperation and no.predicted_types == () and no.scope is None


@pytest.mark.parametrize("name", sorted(p.name for p in SHIPPED.iterdir()))
def test_each_shipped_folder_is_what_the_code_writes_from_its_recipe(name, tmp_path, generating_analyzer):
    analyzer = generating_analyzer                       # as shipped: with its generator
    folder = SHIPPED / name
    from cooplens.training import train_classifier, train_summarizer

    if (folder / "summarizer.json").exists():            # a summarizer folder: its settings name its recipe
        settings = GeneratorSettings.load(folder)
        recipe = {**train_summarizer.DEFAULTS, **settings.training["recipe"]}
        assert settings.max_source_chars == recipe["max_source_chars"]
        assert settings.max_new_tokens == recipe["max_new_tokens"]
    else:
        config = PipelineConfig.load(folder)
        recipe = {**train_classifier.DEFAULTS, **config.training["recipe"]}
        assert config.classifier.base_model == recipe["base_model"]
        if config.classifier.kind in ("sequence_classification", "embedding_head"):
            assert config.classifier.method == recipe["method"]
            assert config.classifier.input_prefix == recipe["input_prefix"]
            assert config.classifier.window_tokens == recipe["window_tokens"]
        written = json.loads((folder / "cooplens.json").read_text(encoding="utf-8"))
        assert written == config.to_dict()               # the file is exactly what save() writes
        if name == analyzer.model_info["name"]:          # package it again: the same folder comes out
            again = analyzer.save_pretrained(tmp_path / name)
            assert json.loads((again / "cooplens.json").read_text())["classifier"] == written["classifier"]
            assert (again / "MODEL_CARD.md").read_text() == (folder / "MODEL_CARD.md").read_text()
    if name in RECIPES:                                  # the documented command trains with exactly this recipe
        documented = yaml.safe_load((REPO / "training" / "configs" / RECIPES[name]).read_text())
        assert {k: recipe[k] for k in documented} == documented


def test_a_trained_folder_is_a_recipe_for_cooplens_train():
    from cooplens.training.config import load_recipe

    recipe = load_recipe(str(SHIPPED / DEFAULT_MODEL), {"epochs": 1}, ["lora.r=4", "seed=7"])
    assert recipe["epochs"] == 1 and recipe["lora"]["r"] == 4 and recipe["seed"] == 7
    assert recipe["base_model"] == "embeddinggemma-300m"


def test_a_set_value_from_the_command_line_takes_the_type_of_its_setting():
    from cooplens.models.analyzer import setting_value

    assert setting_value(0.88, "0.87") == 0.87 and setting_value(3, "5") == 5
    assert setting_value(None, "task: sentence similarity | query: ") == "task: sentence similarity | query: "
    assert setting_value(True, "false") is False and setting_value(False, "yes") is True
    assert setting_value((0.35, 0.65), "0.3,0.7") == (0.3, 0.7)
    assert setting_value("summary", "translate") == "translate"
    assert setting_value(None, "0.5") == 0.5 and setting_value(0.0, "none") is None      # a check on / off
