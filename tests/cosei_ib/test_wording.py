"""UI-1, XFER-1: the customer-facing words follow the bank's guide
(/work/shared/spec/service-guide.ja.txt), which writes 「お振込」 — the screens, mails and
messages said 「お振込み」 in some places and 「お振込」 in others (walk22)."""

import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[2]
APP_DIRS = ("accounts", "cosei_ib", "notifications", "payeasy", "security", "transfers", "templates", "jinja2")
SUFFIXES = {".py", ".html", ".txt"}


def _customer_text_files():
    for app in APP_DIRS:
        for path in (ROOT / app).rglob("*"):
            if path.suffix in SUFFIXES and "migrations" not in path.parts:
                yield path


def test_no_screen_mail_or_message_writes_o_furikomi_with_okurigana():
    offenders = [str(path.relative_to(ROOT)) for path in _customer_text_files()
                 if "お振込み" in path.read_text(encoding="utf-8")]
    assert offenders == []

