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
