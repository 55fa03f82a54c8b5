"""NOTE-4 secure mail and delivery: every message is S/MIME signed by the bank (detached
multipart/signed, SHA-256); the signature verifies against the bank certificate and fails
after one changed byte; headers cannot be injected; development writes .eml files."""

from __future__ import annotations

import email
import email.header
import io
import shutil
import smtplib
import subprocess

import pytest
from django.core import mail
from django.core.mail import BadHeaderError, EmailMessage
from django.core.management import call_command

from notifications.models import OutboxMessage
from notifications.services import notice_enqueue
from notifications.smime import SignedEmailMessage, signing_pair_ensure
from notifications.tasks import outbox_send_pending
from tests import factories

pytestmark = pytest.mark.django_db

OPENSSL = shutil.which("openssl")


def _sent_bytes(name_kanji: str = "山田太郎", email_address: str = "s@example.jp") -> bytes:
    customer = factories.customer(email=email_address, name_kanji=name_kanji)
    notice_enqueue(customer=customer, event="password_change", lines=["変更しました。"])
    assert outbox_send_pending() == 1
    return mail.outbox[-1].message().as_bytes()


def _verify(raw: bytes, tmp_path) -> subprocess.CompletedProcess:
    cert, _key = signing_pair_ensure()
    path = tmp_path / "m.eml"
    path.write_bytes(raw)
    return subprocess.run([OPENSSL, "smime", "-verify", "-in", str(path), "-CAfile", str(cert),
                           "-purpose", "any"], capture_output=True)


@pytest.mark.skipif(OPENSSL is None, reason="openssl not installed")
def test_the_signature_verifies_against_the_bank_certificate_and_breaks_on_one_byte(tmp_path):
    raw = _sent_bytes()
    message = email.message_from_bytes(raw)
    assert message.get_content_type() == "multipart/signed"
    assert message.get_param("micalg") == "sha-256"
    assert message.get_param("protocol") == "application/pkcs7-signature"
    assert [part.get_content_type() for part in message.get_payload()] == [
        "text/plain", "application/pkcs7-signature"]
    result = _verify(raw, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "変更しました。" in message.get_payload()[0].get_payload(decode=True).decode("utf-8")
    assert b"Verification successful" in result.stderr
    # one byte of the signed body changed: the signature no longer matches
    body_start = raw.index(b"Content-Transfer-Encoding: base64\r\n\r\n") + 37
    tampered = bytearray(raw)
    tampered[body_start] = ord("A") if tampered[body_start] != ord("A") else ord("B")
    result = _verify(bytes(tampered), tmp_path)
    assert result.returncode != 0
    assert b"Verification successful" not in result.stderr


@pytest.mark.skipif(OPENSSL is None, reason="openssl not installed")
def test_openssl_noverify_also_accepts_it(tmp_path):
    path = tmp_path / "m.eml"
    path.write_bytes(_sent_bytes())
    result = subprocess.run([OPENSSL, "smime", "-verify", "-noverify", "-in", str(path)],
                            capture_output=True)
    assert result.returncode == 0, result.stderr


def test_headers_are_ascii_and_the_japanese_subject_is_encoded():
    raw = _sent_bytes()
    head = raw.split(b"\r\n\r\n", 1)[0]
    head.decode("ascii")  # every header byte is ASCII
    message = email.message_from_bytes(raw)
    subject = str(email.header.make_header(email.header.decode_header(message["Subject"])))
    assert subject == "【大阪厚生信金】ログインパスワード変更のお知らせ"
    assert message["To"] == "s@example.jp"
    assert b"\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b"")  # CRLF only


def test_a_name_with_cr_lf_cannot_add_headers():
    raw = _sent_bytes(name_kanji="山田\r\nBcc: evil@example.com")
    message = email.message_from_bytes(raw)
    assert message.get_all("Bcc") is None
    assert mail.outbox[-1].recipients() == ["s@example.jp"]


def test_an_address_with_cr_lf_is_never_used():
    customer = factories.customer()
    customer.email = "a@example.jp\r\nBcc: evil@example.com"  # the database stores none such (accounts 0035)
    message = notice_enqueue(customer=customer, event="password_change", lines=["x"])
    assert message.status == OutboxMessage.Status.SKIPPED and message.to == ""
    assert outbox_send_pending() == 0
    with pytest.raises(BadHeaderError):
        SignedEmailMessage("件名", "本文", from_email="ib@example.jp", to="a@example.jp\nBcc: b@example.jp")


def test_the_file_backend_writes_one_eml_per_message_once(settings, tmp_path):
    settings.EMAIL_BACKEND = "notifications.backends.EmlFileBackend"
    settings.NOTIFICATIONS_EML_DIR = str(tmp_path)
    customer = factories.customer(email="f@example.jp")
    notice_enqueue(customer=customer, event="password_change", lines=["x"])
    assert outbox_send_pending() == 1
    assert outbox_send_pending() == 0
    files = list(tmp_path.glob("*.eml"))
    assert len(files) == 1 and "f@example.jp" in files[0].name
    assert email.message_from_bytes(files[0].read_bytes()).get_content_type() == "multipart/signed"


def test_an_smtp_failure_is_retried_and_then_sent_once(monkeypatch):
    import datetime as dt

    import time_machine

    calls = []
    original = EmailMessage.send

    def flaky(self, fail_silently=False):
        calls.append(1)
        if len(calls) == 1:
            raise smtplib.SMTPServerDisconnected("gone")
        return original(self, fail_silently)

    monkeypatch.setattr(EmailMessage, "send", flaky)
    start = dt.datetime(2026, 12, 1, 10, 0, tzinfo=dt.UTC)
    with time_machine.travel(start, tick=False):
        message = notice_enqueue(customer=factories.customer(email="r@example.jp"),
                                 event="password_change", lines=["x"])
        assert outbox_send_pending() == 0
    with time_machine.travel(start + dt.timedelta(minutes=1), tick=False):
        assert outbox_send_pending() == 1
        assert outbox_send_pending() == 0
    message.refresh_from_db()
    assert (message.status, message.attempts) == (OutboxMessage.Status.SENT, 2)
    assert len(mail.outbox) == 1


def test_without_the_certificate_nothing_is_sent_unsigned(settings, tmp_path):
    settings.NOTIFICATIONS_SMIME_SELF_SIGNED = False
    settings.NOTIFICATIONS_SMIME_CERT = str(tmp_path / "missing-cert.pem")
    settings.NOTIFICATIONS_SMIME_KEY = str(tmp_path / "missing-key.pem")
    message = notice_enqueue(customer=factories.customer(email="n@example.jp"),
                             event="password_change", lines=["x"])
    assert outbox_send_pending() == 0
    message.refresh_from_db()
    assert (message.status, message.attempts) == (OutboxMessage.Status.PENDING, 1)
    assert mail.outbox == []


def test_mail_setup_creates_the_development_pair_and_says_where(settings, tmp_path):
    settings.NOTIFICATIONS_SMIME_CERT = str(tmp_path / "c.pem")
    settings.NOTIFICATIONS_SMIME_KEY = str(tmp_path / "k.pem")
    settings.EMAIL_BACKEND = "notifications.backends.EmlFileBackend"
    settings.NOTIFICATIONS_EML_DIR = str(tmp_path / "mail")
    out = io.StringIO()
    call_command("mail_setup", stdout=out)
    assert (tmp_path / "c.pem").exists() and (tmp_path / "k.pem").exists()
    assert str(tmp_path / "c.pem") in out.getvalue() and str(tmp_path / "mail") in out.getvalue()
