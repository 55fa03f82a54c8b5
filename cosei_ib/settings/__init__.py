"""Settings profiles: ``dev`` (default for manage.py), ``test`` (pytest) and ``prod``."""
