from django.conf import settings

from .devices import is_smartphone
from .menu import main_menu


def bank(request):
    """The bank's name, the logged-in customer and the main menu for the base template."""
    customer = getattr(request, "customer", None)
    return {
        "BANK_NAME": settings.BANK_NAME,
        "customer": customer,
        "main_menu": main_menu(request.path) if customer is not None else [],
        "session_idle_seconds": settings.SESSION_IDLE_SECONDS,
        "session_warning_seconds": settings.SESSION_WARNING_SECONDS,
        # UI-1: features the guide does not offer on smartphones are not rendered at all.
        "is_smartphone": is_smartphone(request),
    }
