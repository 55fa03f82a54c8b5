"""XFER-10: the Zengin name normalisation table, rule by rule, and refusals naming the
offending character."""

import pytest

from transfers.zengin import ZenginNameError, zengin_name


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
])
def test_normalisation_table(typed, stored):
    assert zengin_name(typed) == stored


@pytest.mark.parametrize(("typed", "bad"), [
    ("山田 タロウ", "山"),
    ("ﾀﾛｳ@", "@"),
    ("ﾀﾛｳ、ﾊﾅｺ", "、"),
    ("ﾀﾛｳ\x00", "U+0000"),
    ("ﾀﾛｳ😀", "😀"),
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
