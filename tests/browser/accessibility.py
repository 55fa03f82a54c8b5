"""UI-1: every page the browser tests open is checked for accessibility by axe-core, the
engine of Lighthouse's accessibility audit (shipped inside the axe-playwright-python
package), against WCAG 2.0–2.2 A/AA and axe's best practices.

The check is installed in the browser context: each document runs axe once it has loaded
and hands the violations to the test process. The page fixture (tests/conftest.py) waits
for the check of the page left open at the end of the test and fails the test if any
page had a violation. A page the test leaves before its check has finished is not
reported (the check is cut off with the page); the pages a flow stops on — forms, errors,
confirmations, results — are the ones checked. Nor is one whose check ends after the
navigation away began (``beforeunload``/``pagehide``): axe then reads a document being torn
down — the admin's changelist, left at once for the next page, was reported at random
(under load) with a colour contrast of its header it does not have. A colour contrast found
is read again 200 ms later and reported only if it is still there (the same header, read
once mid-way under load in CI, session 35)."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]
# Rules left out on Django's admin pages, each for markup of Django's own templates:
# empty-table-header (a best practice, not WCAG) — the tabular inline's first and last
# header cells are empty by design (admin/edit_inline/tabular.html).
ADMIN_RULES_OFF = ["empty-table-header"]
# preload: false — axe would fetch the style sheets' @import targets itself, resolved
# against the page's URL rather than the sheet's (admin/css/forms.css imports
# 'widgets.css': a request for /admin/…/change/widgets.css, which the admin answered
# with a "not found" message on the staff's next page). Only css-orientation-lock needs it.

_REPORT = """
;(() => {
  if (window.top !== window) return;
  // a page being left is not checked: its document is torn down while axe reads it
  let leaving = false;
  for (const event of ['beforeunload', 'pagehide']) window.addEventListener(event, () => { leaving = true; });
  const report = (url, violations) => { if (!leaving) window.__axeReport(url, violations); };
  window.__axeChecked = new Promise(resolve => window.addEventListener('load', resolve, {once: true}))
    .then(() => axe.run(document, {runOnly: {type: 'tag', values: %s}, resultTypes: ['violations'], preload: false,
        rules: Object.fromEntries((location.pathname.startsWith('/admin/') ? %s : []).map(id => [id, {enabled: false}]))}))
    // a colour contrast is read again 200 ms later, and only what is found then is reported: a
    // real one stays; the admin header read mid-way under load does not (CI, session 35)
    .then(result => !result.violations.some(v => v.id === 'color-contrast') ? result
      : new Promise(resolve => setTimeout(resolve, 200))
          .then(() => axe.run(document, {runOnly: {type: 'rule', values: ['color-contrast']}, resultTypes: ['violations'], preload: false}))
          .then(again => ({violations: result.violations.filter(v => v.id !== 'color-contrast').concat(again.violations)})))
    .then(result => report(location.pathname + location.search, result.violations.map(v => ({
        id: v.id, impact: v.impact, help: v.help,
        nodes: v.nodes.slice(0, 3).map(n => n.target.join(' ') + ' :: ' + n.html.slice(0, 200))}))))
    .catch(error => report(location.pathname, [{id: 'axe-error', impact: 'serious', help: String(error), nodes: []}]));
})();
"""


@lru_cache(maxsize=1)
def _axe_source() -> str:
    import axe_playwright_python

    return (Path(axe_playwright_python.__file__).parent / "axe.min.js").read_text(encoding="utf-8")


def accessibility_check_install(context) -> list[tuple[str, list[dict]]]:
    """Run axe on every document of ``context``; returns the list the (page, violations)
    reports are appended to."""
    found: list[tuple[str, list[dict]]] = []
    context.expose_binding("__axeReport", lambda _source, url, violations: found.append((url, violations)))
    context.add_init_script(_axe_source() + _REPORT % (json.dumps(TAGS), json.dumps(ADMIN_RULES_OFF)))
    return found


def accessibility_check_wait(page) -> None:
    """Wait for the check of the page that is open now (it may still be running)."""
    try:
        page.evaluate("() => window.__axeChecked")
    except Exception:  # noqa: BLE001 - a closed or crashed page has nothing left to check
        pass


def accessibility_violations_text(found: list[tuple[str, list[dict]]]) -> str:
    lines = []
    for url, violations in found:
        for violation in violations:
            lines.append(f"{url}: {violation['id']} ({violation['impact']}) {violation['help']}")
            lines.extend(f"    {node}" for node in violation["nodes"])
    return "\n".join(lines)
