"""Image authentication cards (SEC-5, 画像認証カード): issue, print, challenge, verify.

A card holds 50 distinct pictograms of the catalogue (``security.pictograms``) in a 5×10
grid: rows A–E, columns 1…9,0 (cell labels ``A1`` … ``E0``). Layouts and challenges are
drawn with ``secrets`` only. A challenge names two cells; for each, the customer picks
the pictured image among shuffled candidates fixed with the challenge. The challenge is
sticky (kept in the database until answered correctly or the credential locks). Three
consecutive wrong answers lock the ``image_card`` credential (SEC-8), counted under the
credential's row lock. Answers never reach a log, an audit row or a URL (SEC-13).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import io
import json
import logging
import secrets
from collections.abc import Sequence

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from PIL import Image, ImageDraw

from accounts.models import Customer
from accounts.templatetags.accounts_format import japanese_date
from cosei_ib.queries import model_columns, prepared_cursor, row_instance, unique_or_none
from notifications.services import notice_enqueue

from . import pictograms
from .audit import audit_record
from .errors import AuthFactorError
from .locks import customer_for_update
from .models import AuditEvent, Credential, ImageCard, ImageCardChallenge
from .services import (
    IssuedMeanwhile,
    credential_for_update,
    credential_register_failure,
    credential_register_success,
)

logger = logging.getLogger(__name__)

ROWS = "ABCDE"
COLUMNS = "1234567890"
CELLS = len(ROWS) * len(COLUMNS)  # 50
CHALLENGE_CELLS = 2  # one cell is a 1-in-50 guess: too weak (SEC-5)
CANDIDATES_PER_CELL = 8

CARD_WRONG = "選択された認証用画像が正しくありません。画像認証カードをご確認のうえ、もう一度選択してください。"
CARD_LOCKED = (
    "認証用画像が所定の回数連続して誤って選択されたため、お取引がロックされています。"
    "ロックの解除には当金庫所定の手続きが必要です。お取引店またはお問い合わせ窓口までご連絡ください。"
)
CARD_MISSING = "画像認証カードが発行されていません。お取引店までご連絡ください。"
CARD_CHALLENGE_CHANGED = "認証用画像の指定が変わりました。画面に表示されたマス目の画像を選択してください。"

# How long the card step says that the card was re-issued (the new card goes by post)
REISSUE_TOLD_DAYS = 14

_random = secrets.SystemRandom()


class AnswerStale(Exception):
    """A confirm page's answer was shaped without reading the rows it answers (issue 14:
    the POST checks it under the confirmation's locks instead), and the rows locked now
    ask for another form of it — another factor, a locked or missing card, another
    challenge, other cells: the page's form, built from the database, is what must judge
    it. Raised before anything is written or counted; the caller rolls back and builds
    that form."""


def cell_label(index: int) -> str:
    """Grid index 0–49 → ``A1`` … ``A0``, ``B1`` … ``E0``."""
    return f"{ROWS[index // len(COLUMNS)]}{COLUMNS[index % len(COLUMNS)]}"


def cell_labels() -> list[str]:
    return [cell_label(i) for i in range(CELLS)]


# --- issue -----------------------------------------------------------------------------


def image_card_issue(*, customer: Customer, actor: str = "", reason: str = "",
                     form_shown_at: dt.datetime | None = None) -> ImageCard:
    """Issue a new card (first issue or reissue, 再発行) with a layout from ``secrets``.

    The previous active card is kept but deactivated, and its open challenge closed, so
    only the new card answers from now on. Writes the audit row ``card_issue`` and queues
    a notice to the customer, in one transaction. ``actor`` is the staff username (empty
    for the customer or the demo loader); ``reason`` is what staff typed (本人確認の方法 …),
    kept in the audit row. The lockout counter is not touched: a lock is
    lifted only by the unlock action (SEC-8). ``form_shown_at``: when staff's form was
    shown; IssuedMeanwhile if a card was issued since (the other of two requests at once)."""
    with transaction.atomic():
        # the step-up's lock order (``locks``: the customer, the card credential, then
        # challenge and card), so a reissue racing a card-confirmed operation waits for it
        customer_for_update(customer)
        credential_for_update(customer, Credential.Kind.IMAGE_CARD)
        # NO KEY (no key of a card changes): a page creating a challenge on the card takes
        # a key share of it (the foreign key) and may hold the challenge this closes next
        previous = list(ImageCard.objects.select_for_update(no_key=True)
                        .filter(customer=customer, is_active=True).order_by("id"))
        if form_shown_at is not None and any(card.issued_at >= form_shown_at for card in previous):
            raise IssuedMeanwhile
        now = timezone.now()
        if previous:
            ImageCardChallenge.objects.filter(customer=customer, closed_at__isnull=True).update(
                closed_at=now, closed_reason=ImageCardChallenge.Closed.REISSUED)
            ImageCard.objects.filter(pk__in=[card.pk for card in previous]).update(
                is_active=False, deactivated_at=now)
        card = ImageCard.objects.create(
            customer=customer, layout=_random.sample(pictograms.CODES, CELLS), issued_by=actor[:64],
        )
        summary = "再発行" if previous else "発行"
        audit_record(action="card_issue", outcome=AuditEvent.Outcome.SUCCESS, customer=customer,
                     summary=f"{summary}：{reason.strip()}" if reason.strip() else summary, actor=actor)
        notice_enqueue(customer=customer, event="card_issue", lines=[
            "画像認証カードを" + ("再発行しました。以前のカードはご利用いただけなくなりました。"
                                  if previous else "発行しました。"),
            "お届けのご住所へ郵送いたします。到着まで大切にお待ちください。",
        ])
    return card


def image_card_active(customer: Customer) -> ImageCard | None:
    return ImageCard.objects.filter(customer=customer, is_active=True).first()


def demo_cards_ensure() -> int:
    """Give every demo customer (``accounts.demo``) an active card; idempotent. Returns
    the number of cards issued."""
    from accounts import demo

    issued = 0
    contract_ids = [entry.contract_id for entry in demo.DEMO_CUSTOMERS]
    for customer in Customer.objects.filter(contract_id__in=contract_ids).order_by("contract_id"):
        if image_card_active(customer) is None:
            image_card_issue(customer=customer, actor="seed_demo")
            issued += 1
    return issued


# --- print (PNG / PDF) -----------------------------------------------------------------

_CELL = 92
_PAD = 36
_LABEL = 40
_BORDER = (40, 70, 120)


def _panel(width: int, height: int) -> tuple[Image.Image, ImageDraw.ImageDraw]:
    image = Image.new("RGB", (width, height), (255, 255, 255))
    canvas = ImageDraw.Draw(image)
    canvas.rounded_rectangle([4, 4, width - 5, height - 5], radius=28, outline=_BORDER, width=6)
    return image, canvas


def _render_back(card: ImageCard) -> Image.Image:
    width = _PAD * 2 + _LABEL + _CELL * len(COLUMNS)
    top = _PAD + 56
    height = top + _LABEL + _CELL * len(ROWS) + _PAD
    image, canvas = _panel(width, height)
    font, small = pictograms.japanese_font(30), pictograms.japanese_font(26)
    canvas.text((_PAD, _PAD), "画像認証カード（裏面）", font=font, fill=_BORDER)
    left, grid_top = _PAD + _LABEL, top + _LABEL
    for column, label in enumerate(COLUMNS):
        canvas.text((left + column * _CELL + _CELL // 2, top + _LABEL // 2), label, font=small,
                    fill=(0, 0, 0), anchor="mm")
    for row, label in enumerate(ROWS):
        canvas.text((_PAD + _LABEL // 2, grid_top + row * _CELL + _CELL // 2), label, font=small,
                    fill=(0, 0, 0), anchor="mm")
    for index, code in enumerate(card.layout):
        row, column = divmod(index, len(COLUMNS))
        x, y = left + column * _CELL, grid_top + row * _CELL
        canvas.rectangle([x, y, x + _CELL, y + _CELL], outline=(150, 150, 150), width=2)
        image.paste(pictograms.pictogram_image(code, _CELL - 16), (x + 8, y + 8))
    return image


def _render_front(card: ImageCard, width: int) -> Image.Image:
    height = 420
    image, canvas = _panel(width, height)
    canvas.rectangle([4, 60, width - 5, 130], fill=_BORDER)
    canvas.text((_PAD, 95), settings.BANK_NAME, font=pictograms.japanese_font(44),
                fill=(255, 255, 255), anchor="lm")
    canvas.text((_PAD, 170), "インターネットバンキング 画像認証カード",
                font=pictograms.japanese_font(34), fill=(0, 0, 0))
    canvas.text((_PAD, 240), f"契約者ID  {card.customer.contract_id}",
                font=pictograms.japanese_font(48), fill=(0, 0, 0))
    canvas.text((_PAD, 330), "このカードは通帳・印鑑と同様に大切に保管し、他人に見せないでください。",
                font=pictograms.japanese_font(24), fill=(80, 80, 80))
    canvas.text((_PAD, 366), f"発行日 {japanese_date(timezone.localtime(card.issued_at))}",
                font=pictograms.japanese_font(24), fill=(80, 80, 80))
    return image


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def image_card_render_png(card: ImageCard) -> bytes:
    """The card as one PNG for staff to print: front (bank name, 契約者ID) above back
    (the 5×10 grid). Pure: reads the card, writes nothing. The caller (admin) must audit
    the print and must not show the layout again later (SEC-5)."""
    back = _render_back(card)
    front = _render_front(card, back.width)
    sheet = Image.new("RGB", (back.width, front.height + 40 + back.height), (255, 255, 255))
    sheet.paste(front, (0, 0))
    sheet.paste(back, (0, front.height + 40))
    return _png(sheet)


def image_card_render_pdf(card: ImageCard) -> bytes:
    """The card as a two-page PDF (page 1 front, page 2 back), each page the size of the
    card, for double-sided printing. Pure, like ``image_card_render_png``."""
    from fpdf import FPDF

    back = _render_back(card)
    front = _render_front(card, back.width)
    width_mm = 150.0
    pdf = FPDF(unit="mm", format=(width_mm, width_mm * back.height / back.width))
    pdf.set_auto_page_break(False)
    pdf.set_title("画像認証カード")
    for image in (front, back):
        height_mm = width_mm * image.height / image.width
        pdf.add_page(format=(width_mm, height_mm))
        pdf.image(io.BytesIO(_png(image)), x=0, y=0, w=width_mm, h=height_mm)
    return bytes(pdf.output())


# --- challenge -------------------------------------------------------------------------


def image_card_cell_candidates(card: ImageCard, cell: int) -> list[str]:
    """The candidates a challenge offers for ``cell`` of ``card``: its pictogram and
    ``CANDIDATES_PER_CELL - 1`` decoys, the same set every time the cell is asked for the
    life of the card (issue 7). Drawn fresh per challenge, two sightings of one cell could
    be intersected — only the right image is in both — and a phisher who saw a cell twice
    narrowed 8 candidates to 2. The decoys are the pool ranked by an HMAC keyed with the
    card's own secret (its layout, drawn with ``secrets``) over the cell and each code:
    stable, different per card and cell, and unpredictable without the card. Not keyed
    with SECRET_KEY, whose rotation would change every set and reopen the comparison."""
    key = hashlib.sha256(b"cosei-ib image-card decoys\0%d\0" % card.pk
                         + json.dumps(card.layout).encode()).digest()
    right = card.layout[cell]
    pool = [code for code in pictograms.CODES if code != right]
    pool.sort(key=lambda code: hmac.new(key, f"{cell}:{code}".encode(), hashlib.sha256).digest())
    return [right, *pool[:CANDIDATES_PER_CELL - 1]]


# Built once per process (the subquery costs about a millisecond to build, on every
# confirmation); never evaluated themselves, only filtered by customer (a clone) per call.
_CARD_LOCKED = Credential.objects.filter(kind=Credential.Kind.IMAGE_CARD, locked_at__isnull=False)
_OPEN_CHALLENGE_WITH_LOCK = (
    ImageCardChallenge.objects.select_related("card").filter(closed_at__isnull=True)
    .annotate(card_locked=Exists(_CARD_LOCKED.filter(customer=OuterRef("customer_id"))))
)


def image_card_challenge_current(*, customer: Customer) -> ImageCardChallenge:
    """The customer's open challenge, created when there is none (SEC-5). Sticky: the same
    cells and candidates until answered correctly or locked. Raises AuthFactorError
    (CARD_LOCKED, CARD_MISSING)."""
    # the open challenge and the lock in one query (a page view or a POST of the confirm page)
    challenge = unique_or_none(_OPEN_CHALLENGE_WITH_LOCK.filter(customer=customer))  # one open per customer
    if challenge.card_locked if challenge is not None else _CARD_LOCKED.filter(customer=customer).exists():
        raise AuthFactorError(CARD_LOCKED, field="card", locked=True)
    if challenge is not None and challenge.card.is_active:
        return challenge
    card = image_card_active(customer)
    if card is None:
        raise AuthFactorError(CARD_MISSING, field="card")
    with transaction.atomic():
        if challenge is not None:  # left open by a card deactivated some other way
            ImageCardChallenge.objects.filter(pk=challenge.pk, closed_at__isnull=True).update(
                closed_at=timezone.now(), closed_reason=ImageCardChallenge.Closed.REISSUED)
        cells = _random.sample(range(CELLS), CHALLENGE_CELLS)
        candidates = []
        for cell in cells:
            offered = image_card_cell_candidates(card, cell)
            _random.shuffle(offered)  # the order may change; the set never does
            candidates.append(offered)
        try:
            with transaction.atomic():
                return ImageCardChallenge.objects.create(
                    customer=customer, card=card, cells=cells, candidates=candidates)
        except IntegrityError:  # a parallel request created it first: that one is the challenge
            pass
    return ImageCardChallenge.objects.select_related("card").get(customer=customer,
                                                                  closed_at__isnull=True)


def image_card_challenge_cells(challenge: ImageCardChallenge) -> list[dict]:
    """What a page shows: per cell its label and candidate (index, name). The candidate
    codes do not appear in URLs: images are fetched by (challenge, position, index)."""
    return [
        {"position": position, "label": cell_label(cell),
         "candidates": [(index, pictograms.pictogram_name(code))
                        for index, code in enumerate(challenge.candidates[position])]}
        for position, cell in enumerate(challenge.cells)
    ]


def image_card_check(*, customer: Customer, challenge_id: int | None,
                     answers: Sequence[int] | None, ip: str | None, close: bool = True,
                     shaped: bool = False, seen: dict | None = None) -> str | None:
    """Check an answer inside the caller's transaction (which must commit, so that the
    failure counts): locks the ``image_card`` credential, then the challenge. Returns
    None when right (the challenge is closed unless ``close`` is False), else the Japanese
    message. Counts the failure and locks at the threshold (closing the challenge).

    ``shaped``: the answer was not checked against a form of this challenge (a confirm
    POST, ``StepUpForm.answer_shaped``): raises AnswerStale, before anything is counted,
    when that form would not have taken it as it stands — a locked credential, no open
    challenge on an active card, another challenge's id, answers that do not fit the
    cells. ``seen`` gets the challenge locked (the page's form is built from it)."""
    locked = _card_rows_for_update(customer)
    if locked is None:  # the credential's first use: made (credential_for_update), then read
        credential, challenge = credential_for_update(customer, Credential.Kind.IMAGE_CARD), None
    else:
        credential, challenge = locked
    if credential.is_locked:
        if shaped:
            raise AnswerStale
        return CARD_LOCKED
    if locked is None:
        challenge = unique_or_none(ImageCardChallenge.objects.select_for_update().select_related("card")
                                   .filter(customer=customer, closed_at__isnull=True))
    if shaped and (challenge is None or not challenge.card.is_active or challenge_id is None
                   or challenge.pk != int(challenge_id) or not _answers_fit(challenge, answers)):
        raise AnswerStale
    if seen is not None:
        seen["challenge"] = challenge
    if challenge is None or not challenge.card.is_active:
        return CARD_MISSING if image_card_active(customer) is None else CARD_CHALLENGE_CHANGED
    if challenge_id is None or challenge.pk != int(challenge_id):
        return CARD_CHALLENGE_CHANGED  # the page was stale; not a guess, not counted
    answers = list(answers or [])
    right = len(answers) == len(challenge.cells) and all(
        isinstance(answer, int) and 0 <= answer < len(offered)
        and offered[answer] == challenge.card.layout[cell]
        for answer, cell, offered in zip(answers, challenge.cells, challenge.candidates)
    )
    if right:
        credential_register_success(credential)
        if close:
            image_card_challenge_close(challenge, reason=ImageCardChallenge.Closed.ANSWERED)
        return None
    just_locked = credential_register_failure(credential, ip=ip)
    logger.info("image card answer wrong contract=%s failures=%s", customer.contract_id,
                credential.failures)
    if just_locked or credential.is_locked:
        image_card_challenge_close(challenge, reason=ImageCardChallenge.Closed.LOCKED)
        return CARD_LOCKED
    return CARD_WRONG


def _columns(model, table: str, prefix: str = "") -> list[str]:
    """``model``'s concrete columns from ``table``, named ``prefix`` + the column."""
    return [f'{table}."{field.column}" AS "{prefix}{field.column}"' for field in model._meta.concrete_fields]


# The image-card credential locked FOR UPDATE, then the open challenge and its card locked
# FOR UPDATE, in one statement — what ``credential_for_update`` and the challenge's read
# (``select_for_update().select_related("card")``: both rows) locked one after the other
# (issue 14: one statement and two ORM queries fewer per card answer). The order is kept:
# the credential's subquery is the outer side of a LATERAL join, so its row is locked
# before the challenge's subquery runs (docs/security.md, "Lock order"); no credential
# row, no challenge read (the caller makes the credential and reads as before).
# The challenge is read with the statement's snapshot, taken before a wait on the
# credential's lock; the fresh read after the lock saw the same: a holder of the credential
# closes a challenge (an answer, a lockout, a reissue — the challenge locked here is then
# re-read as committed and, closed, not returned) or deactivates its card (re-read too,
# as the join's row locked), but never opens one (``image_card_challenge_current`` takes
# no credential). tests/security/test_image_card.py holds it to the ORM's rows.
_CARD_ROWS_SQL = """
    SELECT {outer}
      FROM (SELECT {credential} FROM "security_credential" AS credential
             WHERE credential.customer_id = %s AND credential.kind = %s
               FOR UPDATE) AS credential
      LEFT JOIN LATERAL (
           SELECT {challenge}, {card}
             FROM "security_imagecardchallenge" AS challenge
             JOIN "security_imagecard" AS card ON card.id = challenge.card_id
            WHERE challenge.customer_id = credential.customer_id AND challenge.closed_at IS NULL
              FOR UPDATE) AS open ON TRUE""".format(
    # read back as the shared helpers read a model's row (timestamps as epoch microseconds)
    outer=", ".join([*model_columns(Credential, "credential")[0],
                     *model_columns(ImageCardChallenge, "open", "challenge_")[0],
                     *model_columns(ImageCard, "open", "card_")[0]]),
    credential=", ".join(_columns(Credential, "credential")),
    challenge=", ".join(_columns(ImageCardChallenge, "challenge", "challenge_")),
    card=", ".join(_columns(ImageCard, "card", "card_")))
_CREDENTIAL_WIDTH = len(Credential._meta.concrete_fields)
_CHALLENGE_WIDTH = len(ImageCardChallenge._meta.concrete_fields)


def _card_rows_for_update(customer: Customer) -> tuple[Credential, ImageCardChallenge | None] | None:
    """The customer's image-card credential and open challenge (with its card), locked
    (``_CARD_ROWS_SQL``), loaded as the ORM loads them (``cosei_ib.queries.row_instance``);
    None when the credential has no row yet."""
    with connection.cursor() as cursor:
        cursor.execute(_CARD_ROWS_SQL, [customer.pk, Credential.Kind.IMAGE_CARD.value])
        row = cursor.fetchone()
    if row is None:
        return None
    credential = row_instance(Credential, row[:_CREDENTIAL_WIDTH])
    challenge_values = row[_CREDENTIAL_WIDTH:_CREDENTIAL_WIDTH + _CHALLENGE_WIDTH]
    if challenge_values[0] is None:
        return credential, None
    challenge = row_instance(ImageCardChallenge, challenge_values)
    challenge.card = row_instance(ImageCard, row[_CREDENTIAL_WIDTH + _CHALLENGE_WIDTH:])
    return credential, challenge


def image_card_reissued_on(card: ImageCard) -> dt.datetime | None:
    """``card``'s 発行日時 when it replaced an earlier card of its customer within the last
    ``REISSUE_TOLD_DAYS`` days, else None (walk33 F3)."""
    if card.issued_at < timezone.now() - dt.timedelta(days=REISSUE_TOLD_DAYS):
        return None
    replaced = ImageCard.objects.filter(customer_id=card.customer_id, is_active=False,
                                        deactivated_at__lte=card.issued_at).exists()
    return card.issued_at if replaced else None


def _answers_fit(challenge: ImageCardChallenge, answers: Sequence[int] | None) -> bool:
    """One answer per cell, each a candidate's index: what the form of the challenge takes."""
    answers = list(answers or [])
    return len(answers) == len(challenge.cells) and all(
        isinstance(answer, int) and 0 <= answer < len(offered)
        for answer, offered in zip(answers, challenge.candidates))


# ``ImageCardChallenge.objects.filter(pk=…, closed_at__isnull=True).update(closed_at=…,
# closed_reason=…)`` written out, prepared: the ORM's UPDATE was two thirds of a right
# answer's check in Python (issue 14). tests/security/test_image_card.py holds it to the ORM's.
_CHALLENGE_CLOSE_SQL = ('UPDATE "security_imagecardchallenge" SET closed_at = %s, closed_reason = %s'
                        " WHERE id = %s AND closed_at IS NULL")


def image_card_challenge_close(challenge: ImageCardChallenge, *, reason: str) -> None:
    """Close ``challenge`` (once: a closed one keeps its time and reason)."""
    with prepared_cursor() as cursor:
        cursor.execute(_CHALLENGE_CLOSE_SQL, [timezone.now(), reason, challenge.pk])


def image_card_verify(*, customer: Customer, challenge_id: int | None,
                      answers: Sequence[int] | None, ip: str | None, action: str = "step_up",
                      summary: str = "") -> None:
    """Verify an answer in its own (durable) transaction, audit the decision, and raise
    AuthFactorError (CARD_WRONG, CARD_LOCKED, CARD_CHALLENGE_CHANGED, CARD_MISSING) after
    the failure is committed."""
    with transaction.atomic(durable=True):
        error = image_card_check(customer=customer, challenge_id=challenge_id, answers=answers, ip=ip)
        audit_record(action=action, customer=customer, ip=ip,
                     outcome=AuditEvent.Outcome.SUCCESS if error is None else AuditEvent.Outcome.FAILURE,
                     summary=f"画像認証 {summary}".strip() if error is None
                     else f"画像認証 {card_refusal_label(error)} {summary}".strip())
    if error is not None:
        raise AuthFactorError(error, field="card", locked=error == CARD_LOCKED)


def card_refusal_label(error: str) -> str:
    """The short Japanese word for the audit summary (取引履歴): 指定マス変更 is a page left
    stale (another tab answered its challenge), not a wrong answer."""
    return {CARD_WRONG: "誤り", CARD_LOCKED: "ロック", CARD_MISSING: "カード未発行",
            CARD_CHALLENGE_CHANGED: "指定マス変更"}.get(error, "拒否")
