"""Layout checks shared by the browser tests (UI-1)."""


def no_horizontal_overflow(page) -> bool:
    """Nothing wider than the screen (a phone must never scroll sideways). Waits for the
    page to have loaded: during a navigation there is no documentElement to measure."""
    page.wait_for_load_state("load")
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
