"""UI-1 (issue 7): the page font is a proportional Japanese font; the monospaced IPAGothic
came before sans-serif and set running text like a typewriter."""

import pathlib
import re

CSS = pathlib.Path(__file__).resolve().parents[2] / "static" / "css"
MONOSPACED = {"ipagothic", "ms gothic", "ｍｓ ゴシック", "osaka-mono", "monospace"}
PROPORTIONAL_JAPANESE = {"hiragino kaku gothic pron", "hiragino sans", "biz udpgothic", "yu gothic",
                         "meiryo", "noto sans jp", "noto sans cjk jp", "ipapgothic"}


def _families(css: str, selector: str) -> list[str]:
    block = re.search(re.escape(selector) + r"\s*\{(.*?)\}", css, re.S).group(1)
    stack = re.search(r"font-family:\s*([^;]+);", block, re.S).group(1)
    return [name.strip().strip('"').lower() for name in stack.split(",")]


def test_body_font_stack_names_proportional_japanese_fonts_before_sans_serif():
    families = _families((CSS / "site.css").read_text(), ":root")
    assert families[-1] == "sans-serif"
    assert not MONOSPACED & set(families)
    before_generic = families[:-1]
    assert before_generic and all(name in PROPORTIONAL_JAPANESE or name.startswith("yu gothic")
                                  for name in before_generic), before_generic
    assert families[0] == "hiragino kaku gothic pron"
