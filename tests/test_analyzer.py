"""The Analyzer on the sample articles and on bad input: real model answers, never a crash."""
import json
import shutil
import time

import pytest

from cooplens.models.analyzer import DEFAULT_MODEL, Analyzer, fuse_scope
from cooplens.models.schema import AnalysisResult
from conftest import REPO

PINS = REPO / "tests" / "data" / "shipped_pins.json"


def test_results_are_json_serialisable_and_complete(analyzer, seeds):
    result = analyzer.analyze([seeds["003"]])[0]
    data = json.loads(json.dumps(result.to_dict(), ensure_ascii=False))
    assert set(data) >= {"language", "is_cooperation", "cooperation_probability", "types", "primary_type", "scope",
                         "scope_probabilities", "summary_en", "evidence", "warnings", "model", "parties"}
    assert "source_text" not in data and result.to_dict(with_source=True)["source_text"]
    assert len(data["types"]) == 8
    assert all(0.0 <= t["probability"] <= 1.0 for t in data["types"])
    assert data["model"]["name"] == "cooplens-e5-head" and data["model"]["version"]
    failed = AnalysisResult.failed("x", "empty text", analyzer.model_info).to_dict()
    assert set(failed) == set(data)                # a failed row has the same fields as any other


def test_blood_donation_mou_reads_as_domestic_cooperation(analyzer, seeds):
    result = analyzer.analyze([seeds["003"]])[0]
    assert result.language == "fa" and result.is_cooperation
    top3 = [t.name for t in result.types[:3]]
    assert "public_campaign" in top3 or "agreement_signing" in top3
    assert result.scope == "domestic"
    assert "Ardabil" in result.digest


def test_every_predicted_type_has_evidence_at_its_offsets(analyzer, seeds):
    for result in analyzer.analyze(list(seeds.values())):
        assert result.error is None and result.is_cooperation, result.id
        for name in result.predicted_types:
            assert [e for e in result.evidence if e.type == name], (result.id, name)
        assert all(result.source_text[e.start:e.end] == e.sentence for e in result.evidence)


@pytest.fixture(scope="module")
def default_analyzer_float32():
    """The default as it runs on a CPU without AMX / AVX512-BF16 (its encoder's dtype is "auto")."""
    return Analyzer.from_pretrained(summarizer="digest", settings={"classifier.dtype": "float32"})


@pytest.mark.parametrize("which", ["analyzer", "default_analyzer", "default_analyzer_float32"])
def test_the_shipped_models_still_give_their_pinned_answers(which, request, seeds):
    """A regression pin (as open_clip keeps one): each shipped model's decisions and probabilities on the samples,
    in each encoder dtype it runs in. Rewrite tests/data/shipped_pins.json (tests/make_pins.py) only when a shipped
    model is changed on purpose."""
    analyzer = request.getfixturevalue(which)
    assert which == "analyzer" or analyzer.model_info["name"] == DEFAULT_MODEL
    pins = json.loads(PINS.read_text(encoding="utf-8"))[analyzer.model_info["name"]]
    assert pins["version"] == analyzer.model_info["version"]
    dtype = analyzer.model_info["encoder_dtype"]       # "auto" folders: bfloat16 where the CPU has AMX
    assert dtype in pins["results"], f"no pins for the encoder in {dtype} (tests/make_pins.py)"
    for result in analyzer.analyze(list(seeds.values()), ids=list(seeds)):
        pin = pins["results"][dtype][result.id]
        assert (result.is_cooperation, result.predicted_types, result.scope) == (
            pin["is_cooperation"], pin["predicted_types"], pin["scope"]), result.id
        assert result.cooperation_probability == pytest.approx(pin["cooperation_probability"], abs=2e-3)
        for t in result.types:
            assert t.probability == pytest.approx(pin["types"][t.name], abs=2e-3), (result.id, t.name)


def test_digest_names_parties_in_english(analyzer, seeds):
    isfahan, vietnam = analyzer.analyze([seeds["000"], seeds["001"]])
    assert "Isfahan" in isfahan.digest and ("Xi'an" in isfahan.digest or "Guangzhou" in isfahan.digest)
    assert "Vietnam" in vietnam.digest and "China" in vietnam.digest
    assert {"Isfahan", "Xi'an"} <= {p["en"] for p in isfahan.parties}


def test_bad_inputs_give_errors_or_warnings_never_a_crash(analyzer):
    huge = "The health ministers of Iran and Iraq met in Baghdad and signed a memorandum. " * 12_000   # ~100k words
    inputs = ["", "\x00\x01\x02\x7f" * 200, "<p>WHO sent <b>50</b> tonnes of medicine to Gaza.</p>", huge,
              "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor.",
              {"title": "Donation", "text": "Japan donated 3 ambulances to Dhaka city."}, {"title": {"x": 1}, "text": "a"},
              None]
    started = time.perf_counter()
    results = analyzer.analyze(inputs)
    assert time.perf_counter() - started < 240          # bounded, not a hang (chunking caps the work)
    assert len(results) == len(inputs) and all(isinstance(r, AnalysisResult) for r in results)
    empty, binary, html, long, latin, titled, bad_title, none = results
    assert "empty" in empty.error and "binary" in binary.error
    assert any("HTML" in w for w in html.warnings)
    assert any("long input" in w for w in long.warnings)
    assert latin.error is None and latin.warnings        # wrong-language / non-news text is marked, not dropped
    assert titled.error is None and "Japan" in titled.digest and titled.summary_en
    assert "string" in bad_title.error and "string" in none.error


def test_one_article_in_stages_gives_the_classification_first_then_the_same_result_as_analyze(
        generating_analyzer, generated_seeds, seeds):
    """The UI shows the types, evidence and actors before the summary is written: the first stage must already be
    the final answer on everything but the summary, and the second the very result a batch gives."""
    first, final = [r.to_dict() for r in generating_analyzer.analyze_stages(seeds["000"], "000")]
    batch = generated_seeds["000"].to_dict()
    assert first["summary_kind"] == "pending" and first["summary_en"] == first["digest"]
    assert final == batch and final["summary_kind"] in ("generated", "abstained")
    summary_fields = {"summary_en", "summary_kind", "summary_check", "warnings"}
    assert {k: v for k, v in first.items() if k not in summary_fields} == \
        {k: v for k, v in final.items() if k not in summary_fields}


def test_stages_without_a_generator_or_for_bad_input_give_one_result(analyzer, seeds):
    only, = analyzer.analyze_stages(seeds["003"])
    assert only.to_dict() == analyzer.analyze([seeds["003"]])[0].to_dict() and only.summary_kind == "digest"
    empty, = analyzer.analyze_stages("")
    assert "empty" in empty.error and empty.summary_kind == "none"


def test_non_cooperation_news_is_not_forced_into_a_type(analyzer):
    result = analyzer.analyze(["Manchester United beat Chelsea 3-1 on Saturday, with two goals in the second half "
                               "from their new striker, and moved up to fourth place in the Premier League table."])[0]
    assert not result.is_cooperation and result.predicted_types == [] and result.scope is None


@pytest.mark.xfail(strict=True, reason="known limitation of the shipped head models: each 512-token window is "
                   "mean-pooled, so one MoU sentence at the end of a long article is diluted by the sentences around it "
                   "(agreement_signing 0.08 instead of 0.38 with cooplens-e5-head; 128-token windows would keep it, "
                   "but the heads are trained and calibrated on 512). Tracked in eval/RESULTS.md")
def test_a_long_article_counts_a_type_reported_only_at_its_end(analyzer):
    """Sentence windows are max-pooled: an MoU in the last paragraph of a long article is not diluted away."""
    filler = "The city council discussed the budget for road repairs and street lighting in the northern districts. "
    mou = "The health ministries of Iran and Iraq signed a memorandum of understanding on hospital cooperation."

    def agreement(text):
        return {t.name: t.probability for t in analyzer.analyze([text])[0].types}["agreement_signing"]

    long, short, none = agreement(filler * 80 + mou), agreement(filler * 3 + mou), agreement(filler * 80)
    assert long >= short - 0.05 and long > none + 0.2


def test_scope_is_the_head_times_the_parties_evidence():
    fused = fuse_scope({"domestic": 0.5, "bilateral": 0.3, "multilateral": 0.2},
                       {"domestic": 0.2, "bilateral": 0.6, "multilateral": 0.2})
    assert max(fused, key=fused.get) == "bilateral" and sum(fused.values()) == pytest.approx(1)
    assert fuse_scope({}, {"domestic": 0.6}) == {"domestic": 0.6}     # no scope head: the parties alone
    # sources that exclude each other (a head's probabilities underflowed to 0): the head's answer, never NaN
    assert fuse_scope({"domestic": 0.0, "bilateral": 0.0, "multilateral": 1.0},
                      {"domestic": 0.3, "bilateral": 0.7, "multilateral": 0.0}) == {
        "domestic": 0.0, "bilateral": 0.0, "multilateral": 1.0}


def test_a_saved_model_folder_loads_from_anywhere_with_the_same_answers(tmp_path, analyzer, seeds, monkeypatch):
    saved = analyzer.save_pretrained(tmp_path / "copy" / "my-model")
    moved = tmp_path / "elsewhere" / "my-model"
    shutil.move(str(saved), moved)
    monkeypatch.chdir(tmp_path)                          # nothing may resolve against the working directory
    assert {"cooplens.json", "taxonomy.yaml", "MODEL_CARD.md", "head.safetensors"} <= {
        p.name for p in moved.iterdir()}
    again = Analyzer.from_pretrained(str(moved))
    assert again.model_info["name"] == "my-model"
    a, b = analyzer.analyze([seeds["004"]])[0], again.analyze([seeds["004"]])[0]
    assert [(t.name, t.probability, t.predicted) for t in a.types] == [(t.name, t.probability, t.predicted)
                                                                       for t in b.types]
