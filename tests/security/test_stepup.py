"""SEC-7 / SEC-14: step-up bound to one pending operation — content, single use, expiry."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.db import transaction
from django.utils import timezone

from security import cards, otp, stepup
from security.errors import AuthFactorError
from security.models import AuditEvent, Credential, StepUp
from tests import factories
from tests.security.secondfactor import (
    activate_otp,
    code_at_next_step,
    customer_with_card,
    right_answers,
    wrong_answers,
)

pytestmark = pytest.mark.django_db

CONTENT = {"amount": 12345, "payee": "ﾔﾏﾀﾞ ﾀﾛｳ", "date": dt.date(2026, 12, 1)}


def _card_answer(customer):
    challenge = cards.image_card_challenge_current(customer=customer)
    return {"challenge_id": challenge.pk, "card_answers": right_answers(challenge)}


def test_begin_holds_content_hash_and_method():
    customer = customer_with_card()
    pending = stepup.stepup_begin(customer=customer, kind="transfer", content=CONTENT)
    assert pending.content == {"amount": 12345, "payee": "ﾔﾏﾀﾞ ﾀﾛｳ", "date": "2026-12-01"}
    assert pending.content_hash == stepup.content_hash(pending.content)
    assert pending.method == StepUp.Method.IMAGE_CARD
    assert pending.expires_at > timezone.now() + dt.timedelta(minutes=9)


def _verify(customer, pending, content=CONTENT, *, execute=lambda: None, ip=None, **answer):
    return stepup.stepup_verify_execute(customer=customer, stepup_id=pending.pk, content=content,
                                        ip=ip, execute=execute, **answer)


class Refused(Exception):
    pass


def _refuse():
    raise Refused


def test_there_is_no_verification_without_the_customers_lock():
    """SEC-8: ``stepup_verify`` (used only by tests) read ``has_passkey`` / ``otp_active``
    without the customer's lock, so it could decide on stale values; every verification
    goes through ``stepup_verify_execute``, which locks the customer's row first."""
    assert not hasattr(stepup, "stepup_verify")


def test_verify_and_consume_once_with_the_image_card():
    customer = customer_with_card()
    pending = stepup.stepup_begin(customer=customer, kind="transfer", content=CONTENT)
    _verify(customer, pending, ip="10.0.0.1", **_card_answer(customer))
    pending.refresh_from_db()
    assert pending.verified_at is not None and pending.used_at is not None
    # Replaying the confirmation executes nothing: both verify and consume refuse.
    with pytest.raises(stepup.StepUpError) as refused:
        stepup.stepup_consume(customer=customer, stepup_id=pending.pk, content=CONTENT)
    assert refused.value.message == stepup.STEPUP_USED
    with pytest.raises(stepup.StepUpError) as refused:
        _verify(customer, pending, execute=pytest.fail, **_card_answer(customer))
    assert refused.value.message == stepup.STEPUP_USED
    assert list(AuditEvent.objects.filter(customer=customer, action="step_up")
                .values_list("outcome", flat=True)) == ["refused", "success"]


@pytest.mark.parametrize("assignment", [
    "used_at = NULL, expires_at = now() + interval '1 hour'",  # revive a consumed step-up
    "used_at = NULL", "used_at = now()", "verified_at = NULL", "verified_at = now() - interval '1 day'",
    "content = '{\"amount\": 99999999}'::jsonb", "content_hash = repeat('0', 64)",
    "expires_at = now() + interval '1 day'", "customer_id = customer_id + 1", "method = 'otp'",
])
def test_a_used_step_up_is_never_revived_or_rewritten(assignment):
    """SEC-14, LEDGER-7 (security 0008): the app's role set a consumed step-up's used_at
    back to NULL with a later expiry — the confirmation could be replayed — or could
    rewrite what it authorised; the database refuses (CI301), and never deletes it."""
    from tests.accounts.test_ledger_lockdown import refused

    customer = customer_with_card()
    pending = stepup.stepup_begin(customer=customer, kind="transfer", content=CONTENT)
    _verify(customer, pending, **_card_answer(customer))
    assert refused(f"UPDATE security_stepup SET {assignment} WHERE id = %s", [pending.pk]) == "CI301"
    assert refused("DELETE FROM security_stepup WHERE id = %s", [pending.pk]) == "CI301"


def test_an_unused_step_up_moves_only_forward():
    """What the code does still goes: the method changes before verification, a step-up
    is verified then used; it is not used unverified, and an unused one may go."""
    from tests.accounts.test_ledger_lockdown import refused

    customer = customer_with_card()
    pending = stepup.stepup_begin(customer=customer, kind="transfer", content=CONTENT)
    assert refused("UPDATE security_stepup SET used_at = now() WHERE id = %s", [pending.pk]) == "CI301"
    StepUp.objects.filter(pk=pending.pk).update(method=StepUp.Method.OTP)
    StepUp.objects.filter(pk=pending.pk).update(method=StepUp.Method.IMAGE_CARD)
    StepUp.objects.filter(pk=pending.pk).update(verified_at=timezone.now())
    assert refused("UPDATE security_stepup SET method = 'otp' WHERE id = %s", [pending.pk]) == "CI301"
    StepUp.objects.filter(pk=pending.pk).update(used_at=timezone.now())
    unused = stepup.stepup_begin(customer=customer, kind="transfer", content=CONTENT)
    StepUp.objects.filter(pk=unused.pk).delete()


def test_different_content_is_refused_and_counts_nothing():
    customer = customer_with_card()
    pending = stepup.stepup_begin(customer=customer, kind="transfer", content=CONTENT)
    changed = {**CONTENT, "amount": 99999}
    with pytest.raises(stepup.StepUpError) as refused:
        _verify(customer, pending, changed, execute=pytest.fail, **_card_answer(customer))
    assert refused.value.message == stepup.STEPUP_CONTENT_CHANGED
    assert Credential.objects.get(customer=customer, kind="image_card").failures == 0
    with pytest.raises(Refused):  # verified; the operation refused
        _verify(customer, pending, execute=_refuse, **_card_answer(customer))
    with pytest.raises(stepup.StepUpError) as refused:
        stepup.stepup_consume(customer=customer, stepup_id=pending.pk, content=changed)
    assert refused.value.message == stepup.STEPUP_CONTENT_CHANGED
    pending.refresh_from_db()
    assert pending.verified_at is not None and pending.used_at is None


def test_consume_without_verify_is_refused():
    customer = customer_with_card()
    pending = stepup.stepup_begin(customer=customer, kind="transfer", content=CONTENT)
    with pytest.raises(stepup.StepUpError) as refused:
        stepup.stepup_consume(customer=customer, stepup_id=pending.pk, content=CONTENT)
    assert refused.value.message == stepup.STEPUP_NOT_VERIFIED


def test_expired_step_up_is_refused():
    customer = customer_with_card()
    pending = stepup.stepup_begin(customer=customer, kind="transfer", content=CONTENT)
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=11)):
        with pytest.raises(stepup.StepUpError) as refused:
            _verify(customer, pending, execute=pytest.fail, **_card_answer(customer))
    assert refused.value.message == stepup.STEPUP_EXPIRED


def test_another_customers_step_up_is_not_found():
    owner, other = customer_with_card(), customer_with_card()
    pending = stepup.stepup_begin(customer=owner, kind="transfer", content=CONTENT)
    with pytest.raises(stepup.StepUpError) as refused:
        _verify(other, pending, execute=pytest.fail, **_card_answer(other))
    assert refused.value.message == stepup.STEPUP_NOT_FOUND
    with pytest.raises(stepup.StepUpError):
        stepup.stepup_verify_execute(customer=owner, stepup_id="not-a-uuid", content=CONTENT,
                                     ip=None, execute=pytest.fail)


def test_wrong_card_answer_counts_toward_the_lock():
    customer = customer_with_card()
    pending = stepup.stepup_begin(customer=customer, kind="transfer", content=CONTENT)
    challenge = cards.image_card_challenge_current(customer=customer)
    with pytest.raises(AuthFactorError) as refused:
        _verify(customer, pending, execute=pytest.fail,
                challenge_id=challenge.pk, card_answers=wrong_answers(challenge))
    assert refused.value.message == cards.CARD_WRONG and not isinstance(refused.value, stepup.StepUpError)
    assert Credential.objects.get(customer=customer, kind="image_card").failures == 1
    row = AuditEvent.objects.get(customer=customer, action="step_up")
    assert (row.action, row.summary) == factories.CREDENTIAL_FAILED_ROWS["image_card"][:2]  # as the factory writes it
    pending.refresh_from_db()
    assert pending.verified_at is None


def test_otp_replaces_the_image_card_after_activation():
    customer = customer_with_card()
    token = activate_otp(customer, required_at_login=False)
    pending = stepup.stepup_begin(customer=customer, kind="transfer", content=CONTENT)
    assert pending.method == StepUp.Method.OTP
    code = code_at_next_step(token)
    _verify(customer, pending, otp=code)
    second = stepup.stepup_begin(customer=customer, kind="transfer", content=CONTENT)
    with pytest.raises(AuthFactorError) as refused:
        _verify(customer, second, execute=pytest.fail, otp=code)
    assert refused.value.message == otp.OTP_USED
    # probe35 F5, ACCT-4: the 取引履歴 says what the customer was told — 使用済み, 拒否 (nothing
    # counted) — as the login says it, not 認証誤り (失敗)
    row = AuditEvent.objects.filter(customer=customer, action="step_up").latest("id")
    assert row.outcome == AuditEvent.Outcome.REFUSED and row.summary.endswith("ワンタイムパスワード 使用済み")
    assert Credential.objects.get(customer=customer, kind="otp").failures == 0
    login = AuditEvent.objects.filter(customer=customer, action="login_otp")
    with pytest.raises(AuthFactorError):
        otp.otp_verify(customer=customer, code=code, ip=None, action="login_otp")
    assert (login.latest("id").outcome, login.latest("id").summary) == (row.outcome, "ワンタイムパスワード 使用済み")
    # a wrong code is still 誤り, 失敗, and counted
    with pytest.raises(AuthFactorError):
        _verify(customer, second, execute=pytest.fail, otp="000000" if code != "000000" else "111111")
    row = AuditEvent.objects.filter(customer=customer, action="step_up").latest("id")
    assert row.outcome == AuditEvent.Outcome.FAILURE and row.summary.endswith("ワンタイムパスワード 誤り")
    assert Credential.objects.get(customer=customer, kind="otp").failures == 1


def test_the_code_that_locks_the_otp_is_a_failure_and_a_code_after_the_lock_a_refusal():
    """SEC-8, SEC-13: OTP_LOCKED was audited 失敗 both for the wrong code that locked the OTP
    and for a code sent once it was locked (nothing checked, nothing counted), which the
    login's OTP step audits 拒否 「ワンタイムパスワード ロック中」. Now: the locking code
    失敗 「…ロック」; a code after the lock 拒否 「…ロック中」, at a step-up and at login alike."""
    customer = customer_with_card()
    token = activate_otp(customer, required_at_login=False)
    pending = stepup.stepup_begin(customer=customer, kind="transfer", content=CONTENT)
    right = code_at_next_step(token)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    rows = AuditEvent.objects.filter(customer=customer, action="step_up")
    for _ in range(5):
        with pytest.raises(AuthFactorError) as refused:
            _verify(customer, pending, execute=pytest.fail, otp=wrong)
    assert refused.value.message == otp.OTP_LOCKED and refused.value.locked
    locking = rows.latest("id")
    assert locking.outcome == AuditEvent.Outcome.FAILURE and locking.summary.endswith("ワンタイムパスワード ロック")
    # tests/factories.py counts a failure with the rows the service writes (security 0022)
    assert ("step_up", rows.earliest("id").summary, locking.summary) == factories.CREDENTIAL_FAILED_ROWS["otp"]
    with pytest.raises(AuthFactorError) as refused:
        _verify(customer, pending, execute=pytest.fail, otp=right)
    assert refused.value.message == otp.OTP_LOCKED and refused.value.locked  # the same words
    after = rows.latest("id")
    assert after.pk != locking.pk
    assert after.outcome == AuditEvent.Outcome.REFUSED and after.summary.endswith("ワンタイムパスワード ロック中")
    with pytest.raises(AuthFactorError):
        otp.otp_verify(customer=customer, code=right, ip=None, action="login_otp")
    login = AuditEvent.objects.filter(customer=customer, action="login_otp").latest("id")
    assert (login.outcome, login.summary) == (AuditEvent.Outcome.REFUSED, "ワンタイムパスワード ロック中")
    assert Credential.objects.get(customer=customer, kind="otp").failures == 5  # nothing counted after


def test_the_step_up_lock_reads_what_the_orm_would():
    """Issue 14: ``_stepup_for_update`` is SQL written out; it returns the customer's own
    step-up only, every column but the content (deferred), and ``has_passkey`` /
    ``otp_active`` as the ORM's EXISTS would, here with and without each."""
    from django.db.models import Exists, OuterRef

    from security.models import OtpToken, Passkey
    from tests.security.test_passkeys import registered

    def orm(customer, pk):
        return (StepUp.objects.filter(pk=pk, customer=customer)
                .annotate(has_passkey=Exists(Passkey.objects.filter(customer=OuterRef("customer_id"))),
                          otp_active=Exists(OtpToken.objects.filter(customer=OuterRef("customer_id"),
                                                                    activated_at__isnull=False)))).get()

    customer, other = customer_with_card(), customer_with_card()
    pending = stepup.stepup_begin(customer=customer, kind="transfer", content=CONTENT)
    columns = [field.attname for field in StepUp._meta.concrete_fields if field.name != "content"]
    for step in ("none", "otp", "passkey"):
        if step == "otp":
            activate_otp(customer)
        if step == "passkey":
            registered(customer, name="鍵")  # with its service's rows (CI306)
        with transaction.atomic():
            locked = stepup._stepup_for_update(customer, str(pending.pk))
            expected = orm(customer, pending.pk)
            assert [getattr(locked, name) for name in columns] == [getattr(expected, name) for name in columns]
            assert (locked.has_passkey, locked.otp_active) == (expected.has_passkey, expected.otp_active)
            assert (locked.has_passkey, locked.otp_active) == (step == "passkey", step != "none")
            assert "content" in locked.get_deferred_fields()
            assert stepup._stepup_for_update(other, pending.pk) is None
            assert stepup._stepup_for_update(customer, "not-a-uuid") is None


def test_the_contract_lock_reads_what_the_orm_would():
    """Issue 14: ``_contract_active_lock`` is SQL written out; it reads the status and the
    address as the ORM's locked read of the customer did, onto the caller's object."""
    from accounts.models import Customer

    customer = customer_with_card(email="now@example.jp")
    stale = Customer.objects.get(pk=customer.pk)
    stale.email = "before@example.jp"  # as a request loaded it before an address change
    with transaction.atomic():
        assert stepup._contract_active_lock(stale) is True
        expected = (Customer.objects.select_for_update(no_key=True).filter(pk=customer.pk)
                    .values_list("status", "email").first())
    assert (Customer.Status.ACTIVE, stale.email) == expected == (Customer.Status.ACTIVE, "now@example.jp")
    with transaction.atomic():
        assert stepup._contract_active_lock(Customer(pk=0)) is False


@pytest.mark.parametrize("verified", [True, False])
def test_the_step_up_is_used_where_the_orms_filter_would_use_it(verified):
    """Issue 14: ``_stepup_mark_used``'s UPDATE is SQL written out; it uses a step-up only
    where the ORM's filter (pk, customer, unused, unexpired, same content; without
    ``verified_at`` also verified) selects it, and sets the same columns — each condition
    alone refuses with its message."""
    customer, other = customer_with_card(), customer_with_card()
    digest = stepup.content_hash(stepup._canonical(CONTENT))
    now = timezone.now()

    def attempt(pending, **overrides):
        kwargs = {"customer": customer, "stepup_id": pending.pk, "digest": digest, "now": now,
                  "verified_at": now if verified else None} | overrides
        with transaction.atomic():
            stepup._stepup_mark_used(**kwargs)

    def fresh():  # verified (as after an operation refused), so each condition is the only one failing
        pending = stepup.stepup_begin(customer=customer, kind="transfer", content=CONTENT)
        StepUp.objects.filter(pk=pending.pk).update(verified_at=now)
        return pending

    for overrides, message in (({"customer": other}, stepup.STEPUP_NOT_FOUND),
                               ({"stepup_id": "not-a-uuid"}, stepup.STEPUP_NOT_FOUND),
                               ({"digest": "x" * 64}, stepup.STEPUP_CONTENT_CHANGED),
                               ({"now": now + dt.timedelta(seconds=stepup.STEPUP_SECONDS + 1)},
                                stepup.STEPUP_EXPIRED)):
        pending = fresh()
        with pytest.raises(stepup.StepUpError) as refused:
            attempt(pending, **overrides)
        assert refused.value.message == message
        assert StepUp.objects.get(pk=pending.pk).used_at is None
    if not verified:  # without ``verified_at`` an unverified step-up is not used
        pending = stepup.stepup_begin(customer=customer, kind="transfer", content=CONTENT)
        with pytest.raises(stepup.StepUpError) as refused:
            attempt(pending)
        assert refused.value.message == stepup.STEPUP_NOT_VERIFIED
    pending = fresh()
    attempt(pending)
    used = StepUp.objects.get(pk=pending.pk)
    assert used.used_at == now and used.verified_at == now
    with pytest.raises(stepup.StepUpError) as refused:
        attempt(pending)
    assert refused.value.message == stepup.STEPUP_USED


@pytest.mark.parametrize("columns", ["verified_at", "used_at", "verified_at, used_at"])
def test_a_step_up_is_born_unanswered(columns):
    """SEC-14, LEDGER-7 (dbprobe25 F12, security 0011): the app's role INSERTed a step-up
    already verified and used — what the transfers and Pay-easy guards take for a
    confirmation (transfers 0012, payeasy 0005). It is born unanswered (CI301)."""
    from tests.accounts.test_ledger_lockdown import refused

    customer = customer_with_card()
    values = ", ".join("now()" for _ in columns.split(","))
    assert refused("INSERT INTO security_stepup (id, kind, content, content_hash, method, created_at, expires_at,"
                   f" customer_id, {columns}) VALUES (gen_random_uuid(), 'transfer', '{{}}', 'x', 'otp',"
                   f" '2020-01-01', '2099-01-01', %s, {values})", [customer.pk]) == "CI301"
    assert not StepUp.objects.filter(customer=customer).exists()
