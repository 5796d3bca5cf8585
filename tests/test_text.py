import pytest

from cooplens.models.config import TextSettings
from cooplens.models.text import InputError, ascii_digits, informative, normalize, prepare, split_sentences


def test_persian_yeh_kaf_and_zwnj_are_made_consistent():
    arabic_spelling = "همكاري\u200c\u200c ها و پزشكي\u200c."
    assert normalize(arabic_spelling, "fa") == "همکاری\u200cها و پزشکی."


def test_bidi_marks_are_stripped():
    assert normalize("\u200fسلام\u200e \u061cدنیا\u202b", "fa") == "سلام دنیا"


def test_persian_and_bengali_digits_read_as_ascii():
    assert ascii_digits("۱۳۹۸ و ٤٥ and ২০২৫") == "1398 و 45 and 2025"


def test_bengali_is_nfkc_normalised_like_the_tokenizer():
    # U+09DF (য় precomposed) is a composition exclusion: NFKC writes it as য + nukta, as XLM-R's sentencepiece does
    assert normalize("\u09df", "bn") == "\u09af\u09bc"


def test_html_is_removed_with_a_warning():
    prepared = prepare("<html><body><p>The WHO signed an agreement with Iran.</p><script>x=1</script></body></html>")
    assert "<p>" not in prepared.text and "x=1" not in prepared.text
    assert any("HTML" in w for w in prepared.warnings)


@pytest.mark.parametrize("junk", ["", "   \n\t ", "12345 67 !!", "\x00\x01\x02\x03\x04\x05" * 50 + "abc"])
def test_empty_and_binary_input_is_a_clear_error(junk):
    with pytest.raises(InputError):
        prepare(junk)


def test_very_long_input_is_chunked_and_reported():
    text = "Officials from Iran and Iraq met in Baghdad to discuss health cooperation. " * 20_000
    prepared = prepare(text)
    assert len(prepared.text) <= TextSettings().max_chars
    assert any("long input" in w for w in prepared.warnings)


def test_sentences_split_on_persian_bengali_and_latin_punctuation():
    assert split_sentences("جلسه برگزار شد. تفاهم‌نامه امضا شد؟ বৈঠক হয়েছে। Done here! Next") == [
        "جلسه برگزار شد.", "تفاهم‌نامه امضا شد؟", "বৈঠক হয়েছে।", "Done here!", "Next"]


def test_sentence_spans_point_into_the_normalised_text():
    prepared = prepare("جلسه برگزار شد. تفاهم‌نامه امضا شد. جلسه برگزار شد.")
    assert [prepared.text[a:b] for a, b in prepared.spans] == prepared.sentences
    assert prepared.spans[0] != prepared.spans[2]          # a repeated sentence gets its own place


def test_zero_width_characters_do_not_change_the_language_or_the_text():
    clean = "وزارت بهداشت ایران و سازمان جهانی بهداشت تفاهم‌نامه همکاری امضا کردند و قرار شد دوره آموزشی برگزار شود."
    spiked = "\u200b".join(clean[:40]) + "\u200d" + clean[40:]
    a, b = prepare(clean), prepare(spiked)
    assert a.language.code == b.language.code == "fa"
    assert a.text == b.text


def test_language_is_identified_after_html_removal_and_lone_surrogates_are_replaced():
    prepared = prepare("<div><p>The health ministers of Iran and Iraq signed a memorandum in Baghdad.</p></div>")
    assert prepared.language.code == "en"
    broken = prepare("The WHO sent vaccines to Dhaka \ud800 on Monday, officials said.")
    assert "\ufffd" in broken.text and any("surrogate" in w for w in broken.warnings)


@pytest.mark.parametrize("line", ["আজ ১৭ জুলাই সকাল ১১ টায়।", "Wednesday, January 1, 2020 - 16:39",
                                  "الأربعاء 30/أغسطس/2017 - 04:20 م", "موضوع : شهرشناسی | استان مازندران-ساری",
                                  "АСТАНА, 22 сен — Sputnik."])
def test_a_dateline_or_timestamp_carries_no_claim(line):
    # real pages' lines (test and dev articles, sample 004): they were quoted as an abstention's "lead sentence"
    assert not informative(line)


@pytest.mark.parametrize("line", ["The ministry sent 500 tonnes of aid on 5 May 2020.",
                                  "চীন থেকে ১০ সদস্যের বিশেষজ্ঞ দল ঢাকায় এসেছে।"])
def test_a_short_sentence_with_numbers_still_carries_a_claim(line):
    assert informative(line)
