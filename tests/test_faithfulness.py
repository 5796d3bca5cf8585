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
