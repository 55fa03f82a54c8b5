"""Secure mail (NOTE-4, セキュアメール): every message is S/MIME signed with the bank's
certificate — a detached ``multipart/signed`` (RFC 8551) with a SHA-256 PKCS#7 signature
made by ``cryptography``'s ``PKCS7SignatureBuilder``.

The signed part is a ``text/plain; charset=utf-8`` entity in base64, so it is 7-bit and
has CRLF line ends exactly as signed: no mail server on the way can re-encode it and break
the signature. Headers (From, To, Subject …) are outside the signature, as S/MIME defines;
the subject is RFC 2047 encoded UTF-8 (see docs/notifications.md for the charset choice).
"""

from __future__ import annotations

import base64
import datetime as dt
import email.utils
import fcntl
import os
import secrets
from functools import lru_cache
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs7
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from django.conf import settings
from django.core.mail import EmailMessage
from django.core.mail.message import forbid_multi_line_headers

CRLF = b"\r\n"


class SigningPairMissing(Exception):
    """The bank's certificate or key is not where the settings say (production)."""


def signing_pair_paths() -> tuple[Path, Path]:
    return Path(settings.NOTIFICATIONS_SMIME_CERT), Path(settings.NOTIFICATIONS_SMIME_KEY)


def signing_pair_ensure() -> tuple[Path, Path]:
    """The paths of the certificate and key; in development and tests
    (``NOTIFICATIONS_SMIME_SELF_SIGNED``) a self-signed pair is created there on first
    use (under a file lock: several processes may start at once)."""
    cert_path, key_path = signing_pair_paths()
    if cert_path.exists() and key_path.exists():
        return cert_path, key_path
    if not settings.NOTIFICATIONS_SMIME_SELF_SIGNED:
        raise SigningPairMissing(f"S/MIME certificate or key missing: {cert_path}, {key_path}")
    cert_path.parent.mkdir(parents=True, exist_ok=True)
    with open(cert_path.parent / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (cert_path.exists() and key_path.exists()):
            key_pem, cert_pem = _self_signed_pair()
            for path, data in ((key_path, key_pem), (cert_path, cert_pem)):
                temporary = path.with_name(path.name + ".tmp")
                temporary.write_bytes(data)
                os.chmod(temporary, 0o600)
                os.replace(temporary, path)
    return cert_path, key_path


def _self_signed_pair() -> tuple[bytes, bytes]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([
        x509.NameAttribute(NameOID.COUNTRY_NAME, "JP"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, f"{settings.BANK_NAME}（開発用）"),
        x509.NameAttribute(NameOID.COMMON_NAME, settings.NOTIFICATIONS_FROM_EMAIL),
    ])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=825))
        .add_extension(x509.SubjectAlternativeName([x509.RFC822Name(settings.NOTIFICATIONS_FROM_EMAIL)]),
                       critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=True,
                                     key_encipherment=False, data_encipherment=False,
                                     key_agreement=False, key_cert_sign=False, crl_sign=False,
                                     encipher_only=False, decipher_only=False), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return key_pem, cert.public_bytes(serialization.Encoding.PEM)


@lru_cache(maxsize=4)
def _load_pair(cert_path: str, key_path: str, _mtime: float):
    cert = x509.load_pem_x509_certificate(Path(cert_path).read_bytes())
    key = serialization.load_pem_private_key(Path(key_path).read_bytes(), password=None)
    return cert, key


def signing_pair():
    cert_path, key_path = signing_pair_ensure()
    return _load_pair(str(cert_path), str(key_path), cert_path.stat().st_mtime)


def text_entity(body: str) -> bytes:
    """The signed MIME entity: UTF-8 text in base64 with CRLF line ends (canonical form)."""
    text = body.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "\r\n")
    encoded = base64.encodebytes(text.encode("utf-8")).replace(b"\n", CRLF)
    return (b'Content-Type: text/plain; charset="utf-8"' + CRLF
            + b"Content-Transfer-Encoding: base64" + CRLF + CRLF + encoded)


def sign_detached(entity: bytes) -> bytes:
    """The DER PKCS#7 detached signature (SHA-256) of ``entity`` by the bank."""
    cert, key = signing_pair()
    return (
        pkcs7.PKCS7SignatureBuilder().set_data(entity)
        .add_signer(cert, key, hashes.SHA256())
        .sign(serialization.Encoding.DER,
              [pkcs7.PKCS7Options.DetachedSignature, pkcs7.PKCS7Options.Binary])
    )


def _header(name: str, value: str) -> bytes:
    # Django's check refuses CR/LF (header injection) and RFC 2047-encodes non-ASCII.
    name, value = forbid_multi_line_headers(name, value, "utf-8")
    folded = str(value).replace("\r\n", "\n").replace("\n", "\r\n")  # encoder's own folding
    return f"{name}: {folded}".encode("ascii") + CRLF


def signed_message_bytes(*, subject: str, body: str, from_email: str, to: str,
                         message_id: str | None = None, date: str | None = None) -> bytes:
    """A complete RFC 5322 message: headers + ``multipart/signed`` of the text entity."""
    entity = text_entity(body)
    signature = base64.encodebytes(sign_detached(entity)).replace(b"\n", CRLF)
    boundary = f"----=_cosei_smime_{secrets.token_hex(12)}".encode("ascii")
    headers = b"".join([
        _header("From", from_email),
        _header("To", to),
        _header("Subject", subject),
        _header("Date", date or email.utils.formatdate(localtime=True)),
        _header("Message-ID", message_id or email.utils.make_msgid(domain=from_email.rpartition("@")[2] or None)),
        b"MIME-Version: 1.0" + CRLF,
        b'Content-Type: multipart/signed; protocol="application/pkcs7-signature"; micalg=sha-256;'
        + CRLF + b' boundary="' + boundary + b'"' + CRLF,
    ])
    return (headers + CRLF
            + b"This is an S/MIME signed message." + CRLF + CRLF
            + b"--" + boundary + CRLF + entity + CRLF
            + b"--" + boundary + CRLF
            + b'Content-Type: application/pkcs7-signature; name="smime.p7s"' + CRLF
            + b"Content-Transfer-Encoding: base64" + CRLF
            + b'Content-Disposition: attachment; filename="smime.p7s"' + CRLF + CRLF
            + signature + CRLF
            + b"--" + boundary + b"--" + CRLF)


class _Prebuilt:
    """What Django's mail backends expect from ``EmailMessage.message()``."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    def as_bytes(self, unixfrom: bool = False, linesep: str = "\r\n") -> bytes:
        return self._data if linesep == "\r\n" else self._data.replace(CRLF, linesep.encode())

    def as_string(self, unixfrom: bool = False, linesep: str = "\n") -> str:
        return self.as_bytes(linesep=linesep).decode("ascii")

    def get_charset(self):
        return None

    def __getitem__(self, name: str):
        import email

        return email.message_from_bytes(self._data)[name]


class SignedEmailMessage(EmailMessage):
    """A Django message whose MIME form is the bank-signed S/MIME message; works with
    every backend (SMTP, locmem, the .eml file backend). Signed once, when built."""

    def __init__(self, subject: str, body: str, *, from_email: str, to: str) -> None:
        super().__init__(subject, body, from_email=from_email, to=[to])
        self.signed_bytes = signed_message_bytes(subject=subject, body=body, from_email=from_email, to=to)

    def message(self, *args, **kwargs):
        return _Prebuilt(self.signed_bytes)

