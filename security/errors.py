"""Domain errors of the second factors (SEC-5, 6, 7). Messages are Japanese module
constants in the modules that raise them; ``field`` tells a view where to show one
(``card``, ``otp``, ``serial`` or None for the whole form)."""

from __future__ import annotations


class AuthFactorError(Exception):
    def __init__(self, message: str, *, field: str | None = None, locked: bool = False,
                 errors: dict[str | None, str] | None = None) -> None:
        self.message = message
        self.field = field
        self.locked = locked
        # every factor that failed, field → message (several when one form asks for two)
        self.errors = errors or {field: message}
        super().__init__(message)
