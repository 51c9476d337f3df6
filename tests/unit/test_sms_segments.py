"""SMS segment counting: GSM-7 (160 / 153 per part) and UCS-2 (70 / 67 per part)."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from huikuan.messaging.sms import GSM7, UCS2, sms_count, sms_segments

GSM_PLAIN = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,!?@£$¥èéÄÖÑÜ"
GSM_EXTENDED = "^{}\\[~]|€"


def test_plain_latin_text_up_to_160_characters_is_one_gsm_message():
    assert sms_count("a" * 160) == sms_count("a" * 160)
    assert (sms_count("a" * 160).encoding, sms_segments("a" * 160)) == (GSM7, 1)
    assert sms_segments("a" * 161) == 2


def test_split_gsm_text_carries_153_characters_per_part():
    assert sms_segments("a" * 306) == 2
    assert sms_segments("a" * 307) == 3


def test_extension_characters_count_twice():
    assert sms_count("€" * 80).units == 160
    assert sms_segments("€" * 80) == 1
    assert sms_segments("€" * 81) == 2


def test_an_escape_pair_never_straddles_two_parts():
    # 152 plain characters then "€": the pair does not fit in the first part's last septet.
    text = "a" * 152 + "€" + "a" * 10
    assert sms_count(text).units == 164
    assert sms_segments(text) == 2
    assert sms_segments("a" * 152 + "€" * 77 + "a") == 3  # 152 | 76 pairs (152) | 1 pair + 1


def test_chinese_text_is_ucs2_with_70_in_one_message_and_67_per_part():
    assert (sms_count("催" * 70).encoding, sms_segments("催" * 70)) == (UCS2, 1)
    assert sms_segments("催" * 71) == 2
    assert sms_segments("催" * 134) == 2
    assert sms_segments("催" * 135) == 3


def test_one_chinese_character_turns_a_latin_message_into_ucs2():
    text = "Invoice INV-001 is overdue 逾期"
    assert sms_count(text).encoding == UCS2
    assert sms_segments("a" * 69 + "催") == 1
    assert sms_segments("a" * 70 + "催") == 2


def test_an_emoji_takes_two_ucs2_units_and_stays_in_one_part():
    assert sms_count("😀").units == 2
    assert sms_segments("😀" * 35) == 1
    assert sms_segments("催" * 66 + "😀") == 1  # 68 units fit one message
    # 134 units would fill two parts exactly, but the pair cannot split after unit 66.
    assert sms_segments("催" * 66 + "😀" + "催" * 66) == 3


def test_an_empty_text_is_one_message():
    assert sms_segments("") == 1


@given(st.text(alphabet=GSM_PLAIN, max_size=1200))
def test_plain_gsm_text_needs_the_arithmetic_number_of_parts(text):
    count = sms_count(text)
    assert count.encoding == GSM7
    expected = 1 if len(text) <= 160 else math.ceil(len(text) / 153)
    assert count.segments == expected


@given(st.text(alphabet=st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF), max_size=700))
def test_chinese_text_needs_the_arithmetic_number_of_parts(text):
    expected = 1 if len(text) <= 70 else math.ceil(len(text) / 67)
    assert sms_count(text) == sms_count(text)
    assert sms_segments(text) == expected


@given(st.text(max_size=600))
def test_segments_hold_every_unit_and_never_more_parts_than_needed(text):
    count = sms_count(text)
    single, part = (160, 153) if count.encoding == GSM7 else (70, 67)
    if count.units <= single:
        assert count.segments == 1
    else:
        # At least the arithmetic minimum; at most one wasted unit per part (a pair moved on).
        assert math.ceil(count.units / part) <= count.segments <= math.ceil(count.units / (part - 1))


@given(st.text(alphabet=GSM_PLAIN + GSM_EXTENDED, max_size=400), st.text(alphabet=GSM_PLAIN, max_size=400))
def test_adding_text_never_reduces_the_segments(head, tail):
    assert sms_segments(head + tail) >= sms_segments(head)
