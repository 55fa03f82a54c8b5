"""UI-1: the axe check every browser test relies on (tests/browser/accessibility.py) reports
a page's violations, and none for a page without — held here, since a check that reports
nothing would let every browser test pass."""

from __future__ import annotations

from tests.browser.accessibility import (accessibility_check_install, accessibility_check_wait,
                                         accessibility_violations_text)

PAGE = """<!doctype html><html lang="ja"><head><meta charset="utf-8"><title>確認</title></head>
<body><main><h1>確認</h1>{body}</main></body></html>"""
# a 1×1 image with no text alternative: axe's image-alt (WCAG 1.1.1)
WITHOUT_ALT = '<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">'
# light grey on white: axe's color-contrast (WCAG 1.4.3), which is read a second time
LOW_CONTRAST = '<p style="color: #ccc; background: #fff">薄い文字</p>'


def test_a_violation_is_reported_and_a_clean_page_is_not(browser):
    context = browser.new_context(locale="ja-JP")
    found = accessibility_check_install(context)
    pages = {"/bad": PAGE.format(body=WITHOUT_ALT), "/good": PAGE.format(body="<p>問題なし</p>"),
             "/pale": PAGE.format(body=LOW_CONTRAST)}
    context.route("http://check.test/**", lambda route: route.fulfill(
        content_type="text/html; charset=utf-8", body=pages[route.request.url.removeprefix("http://check.test")]))
    page = context.new_page()
    try:
        for path in pages:
            page.goto(f"http://check.test{path}")
            accessibility_check_wait(page)
    finally:
        context.close()
    reported = dict(found)
    assert [v["id"] for v in reported["/bad"]] == ["image-alt"], accessibility_violations_text(found)
    assert reported["/good"] == []
    # a contrast still there when read again is reported (it is read twice: accessibility.py)
    assert [v["id"] for v in reported["/pale"]] == ["color-contrast"], accessibility_violations_text(found)
