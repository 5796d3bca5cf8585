from cooplens.models.faithfulness import check_faithfulness, numbers_in


def test_persian_digits_and_dates_are_traced():
    source = "۷۶ کارتن اقلام بهداشتی در ۳۰ مهر ۱۳۹۸ ارسال شد"
    report = check_faithfulness("76 cartons were sent on 30 Mehr 1398.", source, set(), set())
    assert report.untraced_numbers == [] and report.faithful_share == 1.0


def test_a_number_not_in_the_source_is_flagged():
    report = check_faithfulness("Xi'an sent 500 boxes.", "شیان ۷۶ کارتن ارسال کرد", {"Xi'an"}, {"Xi'an"})
    assert report.untraced_numbers == ["500"]
    assert any("500" in w for w in report.warnings())


def test_a_party_not_in_the_source_is_flagged():
    report = check_faithfulness("Iran and Japan signed an MoU.", "...", {"Iran", "China"}, {"Iran", "Japan"})
    assert report.untraced_names == ["Japan"]
    assert 0 < report.faithful_share < 1


def test_thousands_separators_and_bengali_digits():
    assert {"1369", "2025"} <= numbers_in("১৩৬৯ সালের মাইলফলকে, ২০২৫")
    assert "12000" in numbers_in("12,000 doses")


def guard(summary, source, source_lang="fa"):
    from cooplens.models.faithfulness import guard_summary
    from cooplens.models.parties import Gazetteer

    gazetteer = Gazetteer.load()
    return guard_summary(summary, source, gazetteer.find(source, source_lang), lambda t: gazetteer.find(t, "en"))


def test_guard_drops_a_sentence_with_an_invented_number_and_says_so():
    source = "شهرداری اصفهان ۷۶ کارتن ماسک از شیان دریافت کرد."
    guarded = guard("Isfahan received 76 cartons of masks from Xi'an. The shipment cost 900 dollars.", source)
    assert guarded.text == "Isfahan received 76 cartons of masks from Xi'an."
    assert guarded.generated.untraced_numbers == ["900"] and guarded.as_dict()["generated_facts_checked"] == 4   # 76, 900, Isfahan, Xi'an
    assert any("removed 1 generated sentence" in w and "900" in w for w in guarded.warnings())


def test_guard_withholds_a_generation_with_no_clean_sentence():
    guarded = guard("Tokyo sent 500 ventilators.", "شهرداری اصفهان ۷۶ کارتن ماسک دریافت کرد.")
    assert guarded.text == "" and guarded.as_dict()["withheld"]
    assert sorted(guarded.as_dict()["generated_untraced"]) == ["500", "Tokyo"]
    assert "withheld" in guarded.warnings()[0] and "500" in guarded.warnings()[0]


def test_the_country_of_a_place_in_the_source_is_traceable_and_titles_do_not_split_sentences():
    guarded = guard("Dr. Rezaei said Isfahan, Iran, received 76 cartons.", "دکتر رضایی گفت اصفهان ۷۶ کارتن دریافت کرد.")
    assert guarded.text == "Dr. Rezaei said Isfahan, Iran, received 76 cartons." and not guarded.warnings()
