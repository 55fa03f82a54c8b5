"""Django's Japanese formats with a space between the date and the time (UI-1): Django's
own 「2026年12月6日13:14」 ran them together on every admin date-time, where the customer
pages write 「2026年12月6日 13:14」 (``japanese_minute``)."""

from django.conf.locale.ja.formats import *  # noqa: F401,F403 - Django's, then ours over them

DATETIME_FORMAT = "Y年n月j日 G:i"
