"""Issue 14: when a browser test fails, CI keeps the page's screenshot and HTML in
test-artifacts/ (tests/conftest.py, the `page` fixture's teardown)."""

import pytest

from tests.conftest import ARTIFACTS, page_artifacts_keep

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_failed_page_leaves_its_screenshot_and_html(page, request):
    page.goto("/login/")
    saved = page_artifacts_keep(page, request.node.nodeid + "-selftest")
    try:
        assert [path.suffix for path in saved] == [".png", ".html"]
        assert all(path.parent == ARTIFACTS and path.stat().st_size > 0 for path in saved)
        assert saved[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert "ログイン" in saved[1].read_text(encoding="utf-8")
    finally:
        for path in saved:
            path.unlink()
