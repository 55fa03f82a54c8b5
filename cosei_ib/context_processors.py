from django.conf import settings

from security.session import SEEN_AT_WRITE_AFTER_SECONDS, session_idle_remaining

from .devices import is_smartphone
from .menu import main_menu


def bank(request):
    """The bank's name, the logged-in customer and the main menu for the base template."""
    customer = getattr(request, "customer", None)
    return {
        "BANK_NAME": settings.BANK_NAME,
        "customer": customer,
        "main_menu": main_menu(request.path) if customer is not None else [],
        # SEC-9: what is left of the idle time by the server's clock (security/session.py)
        "session_idle_seconds": (session_idle_remaining(request) if customer is not None
                                 else settings.SESSION_IDLE_SECONDS),
        "session_warning_seconds": settings.SESSION_WARNING_SECONDS,
        # what a request that loads no page (a CSV download) leaves at the least (site.js)
        "session_request_idle_seconds": settings.SESSION_IDLE_SECONDS - SEEN_AT_WRITE_AFTER_SECONDS,
        # UI-1: features the guide does not offer on smartphones are not rendered at all.
        "is_smartphone": is_smartphone(request),
    }
