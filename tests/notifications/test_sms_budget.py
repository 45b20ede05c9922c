"""Text-message budgets: GSM-7 against UCS-2, parts of 160/153 and 70/67, and shortening to fit."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from notifications.sms import GSM7, GSM7_BASIC, GSM7_EXTENSION, UCS2, SmsBudget, sms_fit, sms_segments


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", SmsBudget(GSM7, 0, 0)),
        ("a" * 160, SmsBudget(GSM7, 1, 160)),
        ("a" * 161, SmsBudget(GSM7, 2, 161)),
        ("a" * 306, SmsBudget(GSM7, 2, 306)),
        ("a" * 307, SmsBudget(GSM7, 3, 307)),
        ("ŵ" * 70, SmsBudget(UCS2, 1, 70)),
        ("ŵ" * 71, SmsBudget(UCS2, 2, 71)),
        ("ŵ" * 134, SmsBudget(UCS2, 2, 134)),
        ("ŵ" * 135, SmsBudget(UCS2, 3, 135)),
    ],
    ids=[
        "empty",
        "160 GSM",
        "161 GSM",
        "306 GSM",
        "307 GSM",
        "70 UCS-2",
        "71 UCS-2",
        "134 UCS-2",
        "135 UCS-2",
    ],
)
def test_parts_at_the_boundaries(text: str, expected: SmsBudget) -> None:
    assert sms_segments(text) == expected


def test_the_whole_basic_set_is_one_septet_each() -> None:
    basic = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./:;<=>?¡ÄÖÑÜ§¿äöñüà"
    assert sms_segments(basic) == SmsBudget(GSM7, 1, len(basic))
    assert set(basic) <= GSM7_BASIC


def test_extension_characters_count_twice_and_stay_gsm() -> None:
    assert sms_segments("€") == SmsBudget(GSM7, 1, 2)
    assert sms_segments("^{}\\[~]|€") == SmsBudget(GSM7, 1, 18)
    assert sms_segments("€" * 80) == SmsBudget(GSM7, 1, 160)
    assert sms_segments("€" * 81) == SmsBudget(GSM7, 2, 162)
    assert sms_segments("Pay £5 or €6") == SmsBudget(GSM7, 1, 13)


def test_an_escaped_character_is_never_split_between_parts() -> None:
    # 306 septets would be two parts of 153, but the euro's escape and code cannot straddle them.
    assert sms_segments("a" * 152 + "€" + "a" * 152) == SmsBudget(GSM7, 3, 306)
    assert sms_segments("a" * 151 + "€" + "a" * 153) == SmsBudget(GSM7, 2, 306)


@pytest.mark.parametrize("character", ["ŵ", "ŷ", "â", "ç", "á", "`", "’", "…", "–"])
def test_any_character_outside_gsm_makes_the_whole_text_ucs2(character: str) -> None:
    text = "Mae eich apwyntiad yfory " + character
    assert character not in GSM7_BASIC | GSM7_EXTENSION
    assert sms_segments(text) == SmsBudget(UCS2, 1, len(text))


def test_welsh_without_circumflexes_stays_gsm() -> None:
    assert sms_segments("Dydd Mawrth 8 Rhagfyr am 14:30, wedi'i drefnu").encoding == GSM7
    assert sms_segments("Mae'r apwyntiad yn y Tŷ Glyndŵr").encoding == UCS2


def test_emoji_count_as_two_code_units_and_are_not_split() -> None:
    assert sms_segments("😀") == SmsBudget(UCS2, 1, 2)
    assert sms_segments("😀" * 35) == SmsBudget(UCS2, 1, 70)
    assert sms_segments("😀" * 35 + "a") == SmsBudget(UCS2, 2, 71)
    assert sms_segments("a" * 66 + "😀" + "a" * 66) == SmsBudget(UCS2, 3, 134)
    assert sms_segments("a" * 65 + "😀" + "a" * 67) == SmsBudget(UCS2, 2, 134)


# --- fitting ---------------------------------------------------------------------------------------------


def test_a_text_that_fits_is_left_alone() -> None:
    text = "a" * 306
    assert sms_fit(text, 2) is text


def test_a_long_gsm_text_is_cut_at_a_word_with_three_dots() -> None:
    text = "Your appointment is booked. " * 12
    fitted = sms_fit(text, 1)
    assert fitted == "Your appointment is booked. " * 5 + "Your appointment..."
    assert sms_segments(fitted) == SmsBudget(GSM7, 1, 159)


def test_a_ucs2_text_keeps_its_encoding_and_ends_in_an_ellipsis() -> None:
    text = "Mae'r apwyntiad yn Nhŷ Glyndŵr. " * 10
    fitted = sms_fit(text, 2)
    assert fitted.endswith("…") and not fitted.endswith("...")
    assert sms_segments(fitted) == SmsBudget(UCS2, 2, len(fitted))
    assert len(fitted) > 125


def test_a_ucs2_character_beyond_the_cut_no_longer_counts() -> None:
    text = "a " * 100 + "ŵ"
    fitted = sms_fit(text, 1)
    assert fitted.endswith("a...")
    assert sms_segments(fitted) == SmsBudget(GSM7, 1, len(fitted))


def test_a_link_at_the_cut_is_dropped_rather_than_broken() -> None:
    link = "https://northshire.example/manage/" + "x" * 100 + "/"
    fitted = sms_fit("Change or cancel your appointment here: " + link, 1)
    assert fitted == "Change or cancel your appointment here:..."


def test_no_parts_at_all_is_refused() -> None:
    with pytest.raises(ValueError):
        sms_fit("hello", 0)


@given(
    st.text(alphabet=st.sampled_from("ab ŵ€😀\n.,"), max_size=600),
    st.integers(min_value=1, max_value=4),
)
def test_fitting_always_fits_and_keeps_the_start(text: str, max_segments: int) -> None:
    fitted = sms_fit(text, max_segments)
    assert sms_segments(fitted).segments <= max_segments
    if fitted != text:
        kept = fitted.removesuffix("…") if fitted.endswith("…") else fitted.removesuffix("...")
        assert text.startswith(kept)
        if fitted.endswith("…"):  # only where the text kept is UCS-2 anyway
            assert sms_segments(kept).encoding == UCS2
