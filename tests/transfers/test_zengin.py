"""XFER-10: the Zengin name normalisation table, rule by rule, and refusals naming the
offending character."""

import pytest

from transfers.zengin import ALLOWED, ZenginNameError, zengin_kana, zengin_name


@pytest.mark.parametrize(("typed", "stored"), [
    ("ヤマダ　タロウ", "ﾔﾏﾀﾞ ﾀﾛｳ"),          # full-width katakana and space → half-width
    ("やまだ たろう", "ﾔﾏﾀﾞ ﾀﾛｳ"),           # hiragana → katakana
    ("ﾔﾏﾀﾞ ﾀﾛｳ", "ﾔﾏﾀﾞ ﾀﾛｳ"),               # already Zengin
    ("キョウコ", "ｷﾖｳｺ"),                    # small kana → large (ョ)
    ("ｧｨｩｪｫｬｭｮｯ", "ｱｲｳｴｵﾔﾕﾖﾂ"),            # every small kana
    ("ガッコウ", "ｶﾞﾂｺｳ"),                   # voiced marks split, small ッ → ﾂ
    ("パン", "ﾊﾟﾝ"),                         # handakuten
    ("abc xyz", "ABC XYZ"),                 # lower → upper case
    ("ＡＢＣ１２３", "ABC123"),              # full-width letters and digits
    ("コーヒー", "ｺ-ﾋ-"),                    # long-vowel mark → -
    ("ｺｰﾋｰ", "ｺ-ﾋ-"),                        # half-width long-vowel mark → -
    ("A－B‐C—D―E−F", "A-B-C-D-E-F"),        # dash forms → -
    ("カ）コウセイ", "ｶ)ｺｳｾｲ"),              # full-width parenthesis
    ("（カ）．／", "(ｶ)./"),                 # allowed symbols
    ("  ﾔﾏﾀﾞ   ﾀﾛｳ  ", "ﾔﾏﾀﾞ ﾀﾛｳ"),           # blanks collapsed and trimmed
    ("ヴァイオリン", "ｳﾞｱｲｵﾘﾝ"),
    # decomposed voicing (a macOS file name, text copied from a PDF) and the spacing marks
    ("カ\u3099ッコウ", "ｶﾞﾂｺｳ"),               # combining dakuten after full-width kana
    ("か\u3099", "ｶﾞ"),                       # … after hiragana
    ("ハ\u309aン", "ﾊﾟﾝ"),                     # combining handakuten
    ("ｶ\u3099 ﾊ\u309a", "ｶﾞ ﾊﾟ"),              # … after half-width kana
    ("カ゛ハ゜", "ｶﾞﾊﾟ"),                      # spacing ゛ ゜ (NFKC made them space + mark)
    ("ウ\u3099ァ", "ｳﾞｱ"),
    ("ァィゥェォャュョッ", "ｱｲｳｴｵﾔﾕﾖﾂ"),      # full-width small kana
    ("ぁぃぅぇぉゃゅょっ", "ｱｲｳｴｵﾔﾕﾖﾂ"),      # small hiragana
    ("ヵヶ", "ｶｹ"),                            # small ka / ke: no half-width form, enlarged
])
def test_normalisation_table(typed, stored):
    assert zengin_name(typed) == stored


@pytest.mark.parametrize(("typed", "bad"), [
    ("山田 タロウ", "山"),
    ("ﾀﾛｳ@", "@"),
    ("ﾀﾛｳ、ﾊﾅｺ", "、"),
    ("ﾀﾛｳ\x00", "U+0000"),
    ("ﾀﾛｳ😀", "😀"),
    ("ﾀﾛｳヮ", "ヮ"),                            # small wa: neither in the set nor enlarged
    ("Café", "é"),                              # named as typed, not as its NFD parts
])
def test_refused_character_is_named(typed, bad):
    with pytest.raises(ZenginNameError) as refused:
        zengin_name(typed, label="依頼人名")
    assert f"「{bad}」" in refused.value.message
    assert refused.value.message.startswith("依頼人名に使用できない文字")


def test_empty_and_too_long():
    with pytest.raises(ZenginNameError, match="依頼人名を入力してください"):
        zengin_name("　 ", label="依頼人名")
    with pytest.raises(ZenginNameError, match="40文字以内"):
        zengin_name("ｱ" * 41, label="依頼人名", limit=40)


@pytest.mark.parametrize("typed", ["カ\u3099", "ｶ\u3099", "カ゛", "ァ", "ｯ", "ヵ", "ガ", "ぱ\u3099"])
def test_normalised_names_are_in_the_set_the_interbank_file_carries(typed):
    """XFER-10, XFER-12: whatever normalisation accepts encodes as one Shift_JIS byte per
    character (the 総合振込 file's fixed width): no mark or small kana left full-width."""
    value = zengin_name(typed)
    assert all(ALLOWED.fullmatch(char) for char in value)
    assert len(value.encode("shift_jis")) == len(value)
    assert zengin_kana(typed) == value
