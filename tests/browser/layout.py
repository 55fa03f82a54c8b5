"""Layout checks shared by the browser tests (UI-1)."""


def no_horizontal_overflow(page) -> bool:
    """Nothing wider than the screen (a phone must never scroll sideways). Waits for the
    page to have loaded: during a navigation there is no documentElement to measure."""
    page.wait_for_load_state("load")
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def choices_sit_beside_their_labels(page) -> bool:
    """Every visible check box and radio button is box-sized, with its label's text starting
    just right of it and each check box on its own row (UI-1: a check box once took a text
    field's width and pushed its label to the far side of the row)."""
    page.wait_for_load_state("load")
    return page.evaluate("""() => {
      const boxes = [...document.querySelectorAll('label > input[type=checkbox], label > input[type=radio]')]
        .filter(input => input.offsetParent !== null && !input.closest('.card-candidate'));
      const rows = new Set();
      for (const input of boxes) {
        const box = input.getBoundingClientRect();
        const label = input.parentElement.getBoundingClientRect();
        if (box.width > 40 || box.left - label.left > 24) return false;
        if (input.type === 'checkbox') {
          if (rows.has(Math.round(box.top))) return false;
          rows.add(Math.round(box.top));
        }
      }
      return boxes.length > 0;
    }""")


_LINES_OF = """(rects) => {
  // rects in reading order; a rect starting below the line so far starts a new line
  rects = [...rects].filter(r => r.width > 0).sort((a, b) => a.top - b.top);
  let lines = 0, bottom = -1e9;
  for (const r of rects) {
    if (r.top >= bottom - 1) { lines++; bottom = r.bottom; } else { bottom = Math.max(bottom, r.bottom); }
  }
  return lines;
}"""


def lines_of_phrase(page, phrase: str) -> list[int]:
    """How many lines each visible occurrence of ``phrase`` takes (UI-1: Japanese breaks
    between any two characters, so a label squeezed by the layout broke mid-word, e.g.
    「利用限 / 度額」 on an iPhone 13)."""
    page.wait_for_load_state("load")
    return page.evaluate("""([phrase, linesOf]) => {
      linesOf = eval(linesOf);
      const found = [];
      const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
      while (walker.nextNode()) {
        const node = walker.currentNode;
        if (!node.parentElement || node.parentElement.offsetParent === null) continue;
        for (let at = node.data.indexOf(phrase); at >= 0; at = node.data.indexOf(phrase, at + 1)) {
          const range = document.createRange();
          range.setStart(node, at);
          range.setEnd(node, at + phrase.length);
          found.push(linesOf(range.getClientRects()));
        }
      }
      return found;
    }""", [phrase, _LINES_OF])


def lines_of_elements(page, selector: str) -> dict[str, int]:
    """The lines each visible element's text takes, by its text."""
    page.wait_for_load_state("load")
    return page.evaluate("""([selector, linesOf]) => {
      linesOf = eval(linesOf);
      const out = {};
      for (const element of document.querySelectorAll(selector)) {
        if (element.offsetParent === null) continue;
        const range = document.createRange();
        range.selectNodeContents(element);
        out[element.innerText.trim()] = linesOf(range.getClientRects());
      }
      return out;
    }""", [selector, _LINES_OF])
