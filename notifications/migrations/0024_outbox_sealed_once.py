"""NOTE-1, NOTE-4, LEDGER-7 (outside review dbprobe32 F1): a sealed mail is sealed once.

The seal of 0021 covers a mail's customer, event, address, subject and body — nothing of the
occasion. ``INSERT … SELECT`` of an older mail the app had sealed, seal included, gave a new
pending mail sealed right: the worker signed and sent it with no error, and it met every "the
customer was told" rule (CI310, CI311 and the older ones) of the attacker's transaction with
a text about something else (「…受け取る」 ×3 while the choices went off).

Each mail now has a random nonce of its own (``seal_nonce``, 16 bytes as hex, drawn by
``OutboxMessage.sealed_now``, which both writers — ``notifications.services._outbox_write``,
``transfers.scheduled_records.notices_enqueue`` — call before the INSERT) and its seal covers
it, so no two mails' seals are equal; ``outbox_seal_unique`` (a UNIQUE index on ``seal`` where
it is not '') then refuses a copy at its INSERT, in the attacker's own transaction (23505).
The worker sends only a mail whose seal with its nonce is right (under ``SECRET_KEY`` or one
of ``SECRET_KEY_FALLBACKS``); a seal of 0021's form (no nonce), a changed nonce or a changed
text is 送信失敗 with an error in the log, as an unsealed mail. ``seal_nonce`` is content
(CI204, 0007: it never changes after the INSERT).

This migration reseals, with a nonce each, under ``SECRET_KEY`` (the database never holds it,
so here and not in SQL; the outbox guard is off for these UPDATEs, in the open, as in 0021),
every mail whose seal of 0021 is right — the waiting ones so that they still go, the rest so
that a copy of any of them is refused too. A seal that is not right (a mail the worker refused
or will refuse as not the app's) is emptied: to the worker it says the same, unsealed, and
copies of one garbage seal would otherwise stop the index. Reversed, the mails with a right
seal get back the seal of 0021's form.
"""

import secrets

from django.conf import settings
from django.db import migrations, models

GUARD = "notifications_outbox_guard"


def _sealed_once(apps, schema_editor, *, forward: bool):
    from notifications.models import OutboxMessage as Current

    Message = apps.get_model("notifications", "OutboxMessage")  # noqa: N806 - a model class
    alias = schema_editor.connection.alias
    schema_editor.execute(f"ALTER TABLE notifications_outboxmessage DISABLE TRIGGER {GUARD}")
    for message in Message.objects.using(alias).exclude(seal="").iterator():
        current = Current(customer_id=message.customer_id, event=message.event, to=message.to,
                          subject=message.subject, body=message.body, seal=message.seal,
                          seal_nonce="" if forward else message.seal_nonce)
        if not current.seal_is_right(nonce_needed=not forward):
            if forward:
                Message.objects.using(alias).filter(pk=message.pk).update(seal="")
            continue
        current.seal_nonce = secrets.token_hex(16) if forward else ""
        Message.objects.using(alias).filter(pk=message.pk).update(
            seal=current.seal_for(settings.SECRET_KEY), seal_nonce=current.seal_nonce)
    schema_editor.execute(f"ALTER TABLE notifications_outboxmessage ENABLE TRIGGER {GUARD}")


def mails_resealed(apps, schema_editor):
    _sealed_once(apps, schema_editor, forward=True)


def mails_sealed_as_0021(apps, schema_editor):
    _sealed_once(apps, schema_editor, forward=False)


class Migration(migrations.Migration):

    dependencies = [
        ('notifications', '0023_preference_customer_held'),
    ]

    operations = [
        migrations.AddField(
            model_name='outboxmessage',
            name='seal_nonce',
            field=models.CharField(blank=True, db_default='', default='', max_length=64, verbose_name='封緘の乱数'),
        ),
        migrations.RunPython(mails_resealed, mails_sealed_as_0021),
        migrations.AddConstraint(
            model_name='outboxmessage',
            constraint=models.UniqueConstraint(condition=models.Q(('seal', ''), _negated=True), fields=('seal',),
                                               name='outbox_seal_unique'),
        ),
    ]
