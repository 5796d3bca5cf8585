"""The Analyzer on the sample articles and on bad input: real model answers, never a crash."""
import json
import time

from cooplens.models.analyzer import DEFAULT_MODEL
from cooplens.models.schema import AnalysisResult


def test_results_are_json_serialisable_and_complete(analyzer, seeds):
    result = analyzer.analyze([seeds["003"]])[0]
    data = json.loads(json.dumps(result.to_dict(), ensure_ascii=False))
    assert set(data) >= {"language", "is_cooperation", "cooperation_probability", "types", "primary_type", "scope",
                         "scope_probabilities", "summary_en", "evidence", "warnings", "model"}
    assert len(data["types"]) == 8
    assert all(0.0 <= t["probability"] <= 1.0 for t in data["types"])
    assert data["model"]["name"] == DEFAULT_MODEL


def test_blood_donation_mou_reads_as_domestic_cooperation(analyzer, seeds):
    result = analyzer.analyze([seeds["003"]])[0]
    assert result.language == "fa" and result.is_cooperation
    top3 = [t.name for t in result.types[:3]]
    assert "public_campaign" in top3 or "agreement_signing" in top3
    assert result.scope == "domestic"
    assert "Ardabil" in result.digest


def test_every_predicted_type_has_evidence_from_the_source(analyzer, seeds):
    from cooplens.models.text import prepare

    for result, text in zip(analyzer.analyze(list(seeds.values())), seeds.values()):
        assert result.error is None and result.is_cooperation, result.id
        source = prepare(text, result.language).text
        for name in result.predicted_types:
            assert [e for e in result.evidence if e.type == name], (result.id, name)
        assert all(e.sentence in source for e in result.evidence)


def test_digest_names_parties_in_english(analyzer, seeds):
    isfahan, vietnam = analyzer.analyze([seeds["000"], seeds["001"]])
    assert "Isfahan" in isfahan.digest and ("Xi'an" in isfahan.digest or "Guangzhou" in isfahan.digest)
    assert "Vietnam" in vietnam.digest and "China" in vietnam.digest


def test_bad_inputs_give_errors_or_warnings_never_a_crash(analyzer):
    huge = "The health ministers of Iran and Iraq met in Baghdad and signed a memorandum. " * 12_000   # ~100k words
    inputs = ["", "\x00\x01\x02\x7f" * 200, "<p>WHO sent <b>50</b> tonnes of medicine to Gaza.</p>", huge,
              "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor.",
              {"title": "Donation", "text": "Japan donated 3 ambulances to Dhaka city."}]
    started = time.perf_counter()
    results = analyzer.analyze(inputs)
    assert time.perf_counter() - started < 240          # bounded, not a hang (chunking caps the work)
    assert len(results) == len(inputs) and all(isinstance(r, AnalysisResult) for r in results)
    empty, binary, html, long, latin, titled = results
    assert "empty" in empty.error and "binary" in binary.error
    assert any("HTML" in w for w in html.warnings)
    assert any("long input" in w for w in long.warnings)
    assert latin.error is None and latin.warnings        # wrong-language / non-news text is marked, not dropped
    assert titled.error is None and "Japan" in titled.digest and titled.summary_en


def test_non_cooperation_news_is_not_forced_into_a_type(analyzer):
    result = analyzer.analyze(["Manchester United beat Chelsea 3-1 on Saturday, with two goals in the second half "
                               "from their new striker, and moved up to fourth place in the Premier League table."])[0]
    assert not result.is_cooperation and result.predicted_types == [] and result.scope is None
