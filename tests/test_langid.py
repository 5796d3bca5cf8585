import pytest

from cooplens.models.langid import detect_language, language_warnings


@pytest.mark.parametrize("text, code", [
    ("ارسال دو محموله کمک‌های بهداشتی به شهر اصفهان", "fa"),
    ("সম্মেলনে দুই দেশের স্বাস্থ্য বিভাগের প্রতিনিধিরা উপস্থিত ছিলেন", "bn"),
    ("پاکستان اور چین نے صحت کے شعبے میں تعاون کے معاہدے پر دستخط کیے", "ur"),
    ("The two ministries signed a memorandum on health cooperation.", "en"),
])
def test_detects_the_product_languages(text, code):
    assert detect_language(text).code == code


def test_unsupported_language_gets_a_warning():
    lang = detect_language("Ua hele mai nā kauka mai ka mokupuni ʻē aʻe e kōkua i ka haukapila.")
    assert any("low-confidence" in w or "not part" in w for w in language_warnings(lang))
