"""The CSRF token of the customer pages' forms: Django's, masked the way Django masks it,
in a few C-level steps (issue 14).

Every customer page carries one (the logout form in the header). Django's ``get_token``
masks the secret afresh for each response, so the token in a page never repeats (BREACH):
32 characters drawn one by one with ``secrets.choice`` and added to the secret's in a
generator — ~30 µs, about a sixth of what the statement page costs beyond the bare page.
``token`` does what ``get_token`` does, and the same masking: the mask is 32 characters
drawn uniformly from Django's 62 (``CSRF_ALLOWED_CHARS``) out of the operating system's
random bytes (bytes of 248 and above are dropped, so each kept byte modulo 62 is uniform),
and each token character is the secret's plus the mask's, modulo 62. Django's middleware
checks it as its own (tests/security/test_csrf_token.py). A browser without a secret yet
gets it from ``get_token`` itself, which makes the secret and its cookie.
"""

from __future__ import annotations

import operator
import os

from django.middleware.csrf import CSRF_ALLOWED_CHARS, CSRF_SECRET_LENGTH, get_token
from django.utils.functional import lazy
from django.utils.safestring import SafeString

_ALPHABET = CSRF_ALLOWED_CHARS.encode("ascii")
_SIZE = len(_ALPHABET)  # 62
_DROPPED = bytes(range(256 - 256 % _SIZE, 256))  # 248 … 255: kept bytes are uniform modulo 62
_INDEX_OF_BYTE = bytes(byte % _SIZE for byte in range(256))
_INDEX_OF_CHAR = bytes(_ALPHABET.find(byte) % _SIZE for byte in range(256))
_CHAR_OF_INDEX = bytes(_ALPHABET[byte % _SIZE] for byte in range(256))  # a sum of two indices too


def masked(secret: str) -> str:
    """``secret`` (CSRF_SECRET_LENGTH characters of CSRF_ALLOWED_CHARS) with a fresh mask,
    as Django's ``_mask_cipher_secret`` writes it: the mask, then the cipher."""
    mask = b""
    while len(mask) < CSRF_SECRET_LENGTH:  # 40 bytes keep fewer than 32 about once in 300,000
        mask += os.urandom(CSRF_SECRET_LENGTH + 8).translate(_INDEX_OF_BYTE, _DROPPED)
    mask = mask[:CSRF_SECRET_LENGTH]
    cipher = bytes(map(operator.add, secret.encode("ascii").translate(_INDEX_OF_CHAR), mask))
    return (mask + cipher).translate(_CHAR_OF_INDEX).decode("ascii")


def token(request) -> str:
    """``django.middleware.csrf.get_token``: the request's secret masked afresh, and the
    cookie sent again with the response (its expiry renewed, ``Vary: Cookie``)."""
    secret = request.META.get("CSRF_COOKIE")
    if secret is None or len(secret) != CSRF_SECRET_LENGTH:
        return get_token(request)  # makes the secret and its cookie
    request.META["CSRF_COOKIE_NEEDS_UPDATE"] = True
    return masked(secret)


def _input(request) -> SafeString:
    """The token is letters and digits only: nothing in it to escape."""
    return SafeString(f'<input type="hidden" name="csrfmiddlewaretoken" value="{token(request)}">')


_input_lazy = lazy(_input, SafeString, str)
_token_lazy = lazy(token, str)


def csrf(request) -> dict:
    """Context processor of the Jinja2 pages: ``csrf_input`` and ``csrf_token`` as Django's
    Jinja2 backend sets them (lazy: a page without a form masks nothing), from ``token``;
    it runs after the backend has set Django's, and replaces them."""
    return {"csrf_input": _input_lazy(request), "csrf_token": _token_lazy(request)}
