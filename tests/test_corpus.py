import json
import shutil

import pytest

from cooplens.models.labelled import CorpusError, is_real_news, read_rows
from cooplens.training.corpus import apply_corrections, build, check_pinned, held_out, leakage, near_duplicate_pairs, normalized_url_hash
from conftest import EXAMPLES, REPO

CORPUS = REPO / "data" / "corpus" / "corpus.jsonl"
SHARED = REPO.parent / "shared" / "data"
GOOD = {"id": "x1", "lang": "fa", "title": "", "text": "متن خبر", "types": ["aid_donation"], "scope": "bilateral",
        "is_cooperation": True, "summary_en": "A summary.", "source": "written", "split": "train"}


@pytest.mark.parametrize("change, reason", [
    ({"types": ["not_a_type"]}, "types must be"),
    ({"scope": "global"}, "scope must be"),
    ({"is_cooperation": False}, "non-cooperation"),
    ({"split": "validation"}, "split must be"),
    ({"text": " "}, "empty text"),
])
def test_schema_check_names_the_line_and_the_reason(tmp_path, change, reason):
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(GOOD) + "\n" + json.dumps({**GOOD, **change}) + "\n", encoding="utf-8")
    with pytest.raises(CorpusError, match=rf"bad.jsonl:2: .*{reason}"):
        read_rows(path)


def test_missing_field_and_broken_json_are_rejected(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps({k: v for k, v in GOOD.items() if k != "scope"}) + "\n", encoding="utf-8")
    with pytest.raises(CorpusError, match="missing field 'scope'"):
        read_rows(path)
    path.write_text('{"id": 1,\n', encoding="utf-8")
    with pytest.raises(CorpusError, match="not valid JSON"):
        read_rows(path)


def test_corpus_meets_the_coverage_targets():
    rows = read_rows(CORPUS)
    coop = [r for r in rows if r["is_cooperation"]]
    assert len(coop) >= 400
    assert sum(r["lang"] == "fa" for r in coop) >= 100 and sum(r["lang"] == "bn" for r in coop) >= 100
    assert len({r["lang"] for r in coop}) >= 6
    for name in ("aid_donation", "agreement_signing", "knowledge_exchange", "training_education", "joint_meeting",
                 "health_services", "emergency_response", "public_campaign"):
        assert sum(name in r["types"] for r in coop) >= 30, name
    for scope in ("domestic", "bilateral", "multilateral"):
        assert sum(r["scope"] == scope for r in coop) >= 30, scope
    assert sum(not r["is_cooperation"] for r in rows) >= 300
    assert all(r["summary_en"] for r in coop)


def test_no_near_duplicates_across_splits():
    assert leakage(read_rows(CORPUS)) == []


def test_the_sample_articles_stay_out_of_the_corpus():
    rows = read_rows(CORPUS)
    seeds = [p.read_text(encoding="utf-8") for p in sorted(EXAMPLES.glob("*.txt"))]
    assert near_duplicate_pairs(seeds, [r["text"] for r in rows], threshold=0.3) == []


def test_near_duplicate_detector_finds_a_lightly_edited_copy():
    text = "The health ministries of Iran and Iraq signed a memorandum on pilgrims' care in Baghdad on Monday."
    assert near_duplicate_pairs([text], [text.replace("Monday", "Tuesday"), "Unrelated football news."])[0][:2] == (0, 0)


def test_rows_added_after_the_split_keep_it_and_may_not_repeat_another_splits_story():
    rows = [r for r in read_rows(CORPUS) if is_real_news(r)]
    test_row = next(r for r in rows if r["split"] == "test")
    fresh = {**test_row, "id": "late-1", "split": "train", "text": test_row["text"] + " (updated)"}
    with pytest.raises(CorpusError, match=rf"late-1 \(train\) ~ {test_row['id']} \(test\)"):
        check_pinned([fresh], rows + [fresh])
    check_pinned([{**fresh, "text": "An unrelated story about a football match in Tabriz."}], rows)


@pytest.mark.skipif(not SHARED.exists(), reason="the shared real-data folder is not beside the checkout")
def test_the_committed_corpus_is_what_its_sources_build(tmp_path):
    shutil.copytree(REPO / "data" / "corpus", tmp_path / "data" / "corpus")
    assert build(tmp_path, SHARED).read_bytes() == CORPUS.read_bytes()


def test_a_label_correction_changes_the_label_and_never_the_split(tmp_path):
    rows = [{**GOOD, "id": "a", "split": "test"}, {**GOOD, "id": "b"}]
    fixes = tmp_path / "label_corrections.jsonl"
    fixes.write_text(json.dumps({"id": "a", "is_cooperation": False, "types": [], "scope": None, "kind": "other",
                                 "reason": "one party"}) + "\n", encoding="utf-8")
    apply_corrections(rows, fixes)
    assert (rows[0]["is_cooperation"], rows[0]["types"], rows[0]["scope"], rows[0]["split"]) == (False, [], None, "test")
    assert rows[1] == {**GOOD, "id": "b"}
    fixes.write_text(json.dumps({"id": "zz", "is_cooperation": False, "types": [], "scope": None, "kind": "other"}))
    with pytest.raises(CorpusError, match="unknown id zz"):
        apply_corrections(rows, fixes)


def test_the_committed_corpus_carries_every_label_correction():
    corpus = {r["id"]: r for r in read_rows(CORPUS)}
    fixes = [json.loads(line) for line in (REPO / "data" / "corpus" / "real" / "label_corrections.jsonl").read_text(
        encoding="utf-8").splitlines()]
    assert fixes and all(corpus[f["id"]]["is_cooperation"] == f["is_cooperation"] and
                         corpus[f["id"]]["types"] == f["types"] for f in fixes)


@pytest.mark.skipif(not SHARED.exists(), reason="the shared real-data folder is not beside the checkout")
def test_no_real_news_file_holds_an_article_kept_for_judging():
    """The corpus builder drops held-out URLs; the files it does not read (kept-out test and dev sets, the sixth
    collection) must not hold one either."""
    held = held_out(SHARED)
    for path in sorted((REPO / "data" / "corpus" / "real").glob("*.jsonl")):
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        assert not [r["id"] for r in rows if "source" in r and normalized_url_hash(r["source"]) in held], path.name


@pytest.mark.parametrize("name, split, at_least, others", [
    ("extra_test", "test", 150, []),
    ("fresh_test", "test", 145, ["extra_test", "dev_addendum"]),
    ("natural_dev", "dev", 196, ["extra_test", "fresh_test", "dev_addendum", "missed_types_train"])])
def test_a_kept_out_set_is_valid_and_shares_no_story_with_the_corpus(name, split, at_least, others):
    real = REPO / "data" / "corpus" / "real"
    rows = read_rows(real / f"{name}.jsonl")
    assert len(rows) >= at_least and {r["split"] for r in rows} == {split} and all(is_real_news(r) for r in rows)
    texts = [r["text"] for r in read_rows(CORPUS)] + [r["text"] for o in others for r in read_rows(real / f"{o}.jsonl")]
    assert near_duplicate_pairs([r["text"] for r in rows], texts, threshold=0.3) == []


def test_real_news_sentence_pairs_come_from_train_and_dev_articles_and_trace_to_their_sentence():
    from cooplens.models.faithfulness import check_against_source
    from cooplens.models.parties import Gazetteer
    from cooplens.models.text import article_text, prepare
    from cooplens.training.parallel import LENGTH_RATIO, MIN_SIMILARITY

    articles = {r["id"]: r for r in read_rows(CORPUS)}
    gazetteer = Gazetteer.load()
    pairs = [json.loads(line) for line in (REPO / "data" / "parallel" / "real_news.jsonl").read_text().splitlines()]
    assert len(pairs) >= 150
    for pair in pairs:
        article = articles[pair["id"].rsplit("-s", 1)[0]]
        assert is_real_news(article) and article["source"] == pair["url"]
        assert pair["split"] == article["split"] != "test"          # the test split's references stay unseen
        assert pair["src"] in prepare(article_text(article.get("title"), article["text"]), lang=article["lang"]).sentences
        assert pair["similarity"] >= MIN_SIMILARITY
        assert LENGTH_RATIO[0] <= len(pair["en"]) / len(pair["src"]) <= LENGTH_RATIO[1]
        report = check_against_source(pair["en"], pair["src"], gazetteer.find(pair["src"], pair["src_lang"]),
                                      lambda text: gazetteer.find(text, "en"))
        assert not report.untraced_numbers + report.untraced_names, pair["id"]
