"""CSV download of a statement (ACCT-3, UI-1): cp932 by default, UTF-8 with BOM on request,
unencodable characters replaced, formula injection neutralised, streamed, PC only."""

from __future__ import annotations

import codecs
import csv
import inspect
import io
from urllib.parse import quote

import pytest
import time_machine
from django.db import transaction
from django.http import StreamingHttpResponse

from accounts import selectors
from accounts.csv_export import HEADER, neutralise, statement_csv
from security.models import AuditEvent
from tests import factories
from tests.accounts.test_statements_support import IPHONE_UA, login, post, tokyo

pytestmark = pytest.mark.django_db

URL = "/accounts/statements/csv/"
NOW = tokyo(2026, 3, 20, 10)


@pytest.fixture
@transaction.atomic  # backdated postings go only onto an account opened with them (LEDGER-7)
def account():
    account = factories.account(number="0124567")
    post(account, 250_000, tokyo(2026, 3, 2, 9), "給与 コウセイシヨウジ")
    post(account, -1_234, tokyo(2026, 3, 3, 9), "=HYPERLINK(\"http://x\",\"a\")")
    post(account, 1_000, tokyo(2026, 3, 4, 9), "+81 ﾃﾞﾝﾜ")
    post(account, -2_000, tokyo(2026, 3, 5, 9), "-2+3")
    post(account, 3_000, tokyo(2026, 3, 6, 9), "@SUM(A1)")
    post(account, -4_000, tokyo(2026, 3, 7, 9), "振込 𠮷田 ｻﾝ🍣, \"特急\"")
    return account


@pytest.fixture(autouse=True)
def travel():
    with time_machine.travel(NOW, tick=False):
        yield


def download(client, account, **params):
    query = {"account": account.pk, "mode": "period", "date_from": "2026-03-01", "date_to": "2026-03-20",
             "order": "asc", **params}
    return client.get(URL, query)


def body(response) -> bytes:
    return b"".join(response.streaming_content)


def test_cp932_by_default(client, account):
    login(client, account.customer)
    response = download(client, account)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=Shift_JIS"
    data = body(response)
    assert not data.startswith(codecs.BOM_UTF8)
    rows = list(csv.reader(io.StringIO(data.decode("cp932"), newline="")))
    assert rows[0] == list(HEADER) == ["日付", "摘要", "お引出し", "お預入れ", "残高"]
    assert rows[1] == ["2026/03/02", "給与 コウセイシヨウジ", "", "250000", "250000"]
    assert rows[2] == ["2026/03/03", "'=HYPERLINK(\"http://x\",\"a\")", "1234", "", "248766"]
    assert rows[3][1] == "'+81 ﾃﾞﾝﾜ"
    assert rows[4][1] == "'-2+3"
    assert rows[5][1] == "'@SUM(A1)"
    # 𠮷 and 🍣 do not exist in cp932: replaced, the rest of the cell (comma, quotes) intact.
    assert rows[6] == ["2026/03/07", "振込 ?田 ｻﾝ?, \"特急\"", "4000", "", "246766"]
    assert len(rows) == 7
    assert data.endswith(b"\r\n")


def test_utf8_with_bom_keeps_every_character(client, account):
    login(client, account.customer)
    response = download(client, account, encoding="utf8", order="desc")
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    data = body(response)
    assert data.startswith(codecs.BOM_UTF8)
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert rows[0] == list(HEADER)
    assert rows[1] == ["2026/03/07", "振込 𠮷田 ｻﾝ🍣, \"特急\"", "4000", "", "246766"]
    assert rows[-1][1] == "給与 コウセイシヨウジ"


def test_same_query_as_the_page_by_count_and_by_date(client, account):
    login(client, account.customer)
    rows = list(csv.reader(io.StringIO(body(download(client, account, mode="count", count="10",
                                                    order="desc")).decode("cp932"))))
    assert len(rows) == 7 and rows[1][0] == "2026/03/07"
    rows = list(csv.reader(io.StringIO(body(download(client, account, mode="date", date="2026-03-04"))
                                       .decode("cp932"))))
    assert rows[1:] == [["2026/03/04", "'+81 ﾃﾞﾝﾜ", "", "1000", "249766"]]


def test_streaming_response_from_a_generator(client, account):
    login(client, account.customer)
    response = download(client, account)
    assert isinstance(response, StreamingHttpResponse)
    assert response.streaming
    generator = statement_csv(iter([]), encoding="sjis")
    assert inspect.isgenerator(generator)
    assert next(generator).decode("cp932") == "日付,摘要,お引出し,お預入れ,残高\r\n"


def test_filename_has_account_and_period_with_rfc5987(client, account):
    login(client, account.customer)
    disposition = download(client, account)["Content-Disposition"]
    name = "入出金明細_001-4567_20260301-20260320.csv"
    assert disposition == (
        'attachment; filename="statement_001-4567_20260301-20260320.csv"; '
        f"filename*=UTF-8''{quote(name, safe='')}"
    )
    assert "0124567" not in disposition  # the masked number only, as on screen
    disposition = download(client, account, mode="count", count="20")["Content-Disposition"]
    assert 'filename="statement_001-4567_latest20_20260320.csv"' in disposition


def test_neutralise():
    for cell in ("=1+1", "+1", "-1", "@A1", "\tx", "\rx"):
        assert neutralise(cell) == "'" + cell
    for cell in ("振込", "1-2", "", "a=b"):
        assert neutralise(cell) == cell


def test_smartphone_is_refused_in_japanese(client, account):
    login(client, account.customer, user_agent=IPHONE_UA)
    response = download(client, account)
    assert response.status_code == 403
    assert not response.streaming
    assert "スマートフォンでは明細のダウンロードはご利用いただけません。" in response.content.decode()


def test_invalid_query_is_a_message_not_a_file(client, account):
    login(client, account.customer)
    response = download(client, account, date_from="2026-03-10", date_to="2026-03-01")
    assert response.status_code == 400
    assert not response.streaming
    assert "終了日には開始日以降の日付を指定してください。" in response.content.decode()
    response = download(client, account, encoding="latin-1")
    assert response.status_code == 400


def test_unknown_encoding_says_why(client, account):
    """ACCT-3: an encoding the download does not offer (a tampered or stale link) was a 400
    with the query form and no message at all: the page renders no 文字コード field, so the
    field's error was never shown. Now the page says what was wrong, in Japanese."""
    login(client, account.customer)
    for encoding in ("latin-1", "%FF", "\x00", "ｓｊｉｓ"):
        response = download(client, account, encoding=encoding)
        assert response.status_code == 400 and not response.streaming
        assert "文字コードの指定が正しくありません。" in response.content.decode(), encoding


def test_another_customers_account_is_404_and_audited(client, account):
    intruder = factories.account()
    login(client, intruder.customer)
    response = download(client, account)
    assert response.status_code == 404
    event = AuditEvent.objects.get(action="access_refused")
    assert (event.customer, event.outcome) == (intruder.customer, "refused")


def test_a_download_link_without_an_account_shows_no_none_in_the_history(client, account):
    """ACCT-4, ACCT-5: /accounts/statements/csv/ with no account (a truncated link) was
    refused and audited as 「口座 id=None」 — Python's None in the customer's 取引履歴."""
    login(client, account.customer)
    assert client.get("/accounts/statements/csv/").status_code == 404
    event = AuditEvent.objects.get(action="access_refused")
    assert "None" not in event.summary and "口座の指定なし" in event.summary
    assert "None" not in client.get("/history/").content.decode().split("<main", 1)[-1]


def test_export_rows_are_streamed_in_chunks_by_one_query(account, monkeypatch):
    """ACCT-3: the rows come from one SELECT streamed in chunks of CSV_CHUNK_SIZE (memory
    flat for any length), not fetched at once, and not through a WITH HOLD cursor that
    makes the server store the whole result first."""
    import psycopg

    calls = []
    stream = psycopg.Cursor.stream

    def spy(self, query, params=None, **kwargs):
        calls.append(kwargs.get("size"))
        return stream(self, query, params, **kwargs)

    monkeypatch.setattr(psycopg.Cursor, "stream", spy)
    query = selectors.StatementQuery(account=account, mode="count", count=100, newest_first=False)
    rows = selectors.statement_rows_for_export(query=query, today=NOW.date())
    assert inspect.isgenerator(rows)
    assert calls == []  # nothing is read before the response is sent
    first, rest = next(rows), list(rows)
    assert first[0].isoformat() == "2026-03-02" and len(rest) == 5
    assert calls == [selectors.CSV_CHUNK_SIZE]


@pytest.mark.django_db(transaction=True)  # autocommit, as the download runs in production
def test_an_abandoned_download_leaves_the_connection_usable(account, monkeypatch):
    """A customer who closes the tab mid-download closes the generator half-way: the query
    is cancelled and the connection is idle again for the next request (ACCT-3)."""
    import psycopg
    from django.db import connection

    monkeypatch.setattr(selectors, "CSV_CHUNK_SIZE", 2)
    query = selectors.StatementQuery(account=account, mode="count", count=100, newest_first=False)
    rows = selectors.statement_rows_for_export(query=query, today=NOW.date())
    next(rows)
    rows.close()
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM accounts_entry WHERE account_id = %s", [account.pk])
        assert cursor.fetchone()[0] == 6
    assert connection.connection.info.transaction_status == psycopg.pq.TransactionStatus.IDLE


def reference_csv(rows, encoding: str) -> bytes:
    """The straightforward rendering the export must equal byte for byte: the csv module
    writing one row at a time, each row encoded on its own (cp932 with ``?`` for what it
    cannot hold; UTF-8 behind a BOM)."""
    codec = {"sjis": "cp932", "utf8": "utf-8"}[encoding]
    out = [codecs.BOM_UTF8 if encoding == "utf8" else b""]
    for row in [HEADER] + [(day.isoformat().replace("-", "/"), neutralise(description),
                            -amount if amount < 0 else "", amount if amount > 0 else "", balance)
                           for day, description, amount, balance in rows]:
        line = io.StringIO(newline="")
        csv.writer(line).writerow(row)
        out.append(line.getvalue().encode(codec, errors="replace"))
    return b"".join(out)


# Characters that matter to the CSV (separators, quotes, line breaks, formula triggers in
# ASCII, full-width and compatibility forms, blanks a spreadsheet may trim, combining
# marks) and to cp932 (half-width kana, kanji outside it, emoji), plus ordinary text.
ALPHABET = (list("abcXYZ019 ,\"'=+-@\t\r\n\x0b\x0c") + list("＝＋－＠﹦⁼₊﹢﹣＂，\u3000\u00a0\u0338\u0301")
            + list("振込給与カードヤマダﾀﾛｳｶﾞﾊﾟ円𠮷🍣髙﨑①"))


def random_rows(rng, count: int) -> list[tuple]:
    import datetime as dt

    repeated = ["".join(rng.choices(ALPHABET, k=rng.randint(0, 12))) for _ in range(50)]
    rows, balance = [], 0
    for _ in range(count):
        if rng.random() < 0.5:
            description = rng.choice(repeated)
        else:  # mostly unique: more of them than the memo keeps
            description = "".join(rng.choices(ALPHABET, k=rng.randint(0, 40)))
        amount = rng.choice([0, 1, -1, 1_000, -1_500, rng.randint(-10**12, 10**12)])
        balance += amount
        day = dt.date(2020, 1, 1) + dt.timedelta(days=rng.randint(0, 4000))
        rows.append((day, description, amount, balance))
    return rows


@pytest.mark.parametrize("encoding", ["sjis", "utf8"])
def test_random_rows_give_the_same_bytes_as_the_csv_module_row_by_row(encoding):
    import random

    from accounts.csv_export import MEMO_LIMIT, ROWS_PER_BLOCK

    rng = random.Random(14)
    rows = random_rows(rng, 10 * ROWS_PER_BLOCK + 1_234)
    assert len({description for _, description, _, _ in rows}) > MEMO_LIMIT  # the memo empties
    chunks = list(statement_csv(iter(rows), encoding=encoding))
    assert len(chunks) == 1 + 11  # the header, then blocks of ROWS_PER_BLOCK rows
    assert b"".join(chunks) == reference_csv(rows, encoding)
    for count in (0, 1, ROWS_PER_BLOCK):  # block edges
        assert b"".join(statement_csv(iter(rows[:count]), encoding=encoding)) == reference_csv(
            rows[:count], encoding)


def test_the_fixture_rows_give_the_reference_bytes(account):
    query = selectors.StatementQuery(account=account, mode="count", count=100, newest_first=False)
    rows = list(selectors.statement_rows_for_export(query=query, today=NOW.date()))
    for encoding in ("sjis", "utf8"):
        assert b"".join(statement_csv(iter(rows), encoding=encoding)) == reference_csv(rows, encoding)


@pytest.mark.parametrize("cell", ["＝HYPERLINK(\"http://x\")", "＋１", "－１＋２", "＠SUM(A1)",
                                  " =1+1", "\u3000=1+1", "\n=cmd"])
def test_neutralise_full_width_and_padded_formulas(cell):
    assert neutralise(cell) == "'" + cell


@pytest.mark.parametrize("cell", ["ｶｰﾄﾞ ｼﾞｴｰｼｰﾋﾞｰ", "振込 ヤマダ タロウ", "ATM-1", "給与 3月分"])
def test_ordinary_descriptions_stay_as_they_are(cell):
    assert neutralise(cell) == cell
