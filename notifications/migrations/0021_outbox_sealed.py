"""NOTE-1, NOTE-4, LEDGER-7 (outside review dbprobe31 F1): a mail of the attacker's choosing
was sent, S/MIME-signed from the bank's own sender, after one ``INSERT … SELECT`` into the
outbox as the app's role — a phishing link to a customer's real address, or to any address
through an ``email_verify`` mail and its change request. The database's guards check who a
mail goes to (notifications 0008, 0019, 0020), never what it says.

Each mail now carries a seal (``seal``): an HMAC-SHA256 of its customer, event, address,
subject and body under a key derived from ``SECRET_KEY`` (Django's ``salted_hmac``), which
the database never holds. The app's writers (``notifications.services._outbox_write``,
``transfers.scheduled_records.notices_enqueue``) seal what they write; the sender signs and
sends only a mail whose seal is right — under ``SECRET_KEY`` or one of
``SECRET_KEY_FALLBACKS`` while a key is rotated — and marks any other 送信失敗 with an error
in the log, never sending it. A mail's content, its seal included, never changes after it is
written (CI204, notifications 0007: ``seal`` is content).

The mails still waiting (未送信 or 送信失敗) when this migration runs are sealed by it, as the
app wrote them (the outbox guard is off for that one UPDATE, in the open); the rest are
history. ``db_default=''``: a row written without one is simply unsealed.
"""

from django.conf import settings
from django.db import migrations, models


def waiting_mails_seal(apps, schema_editor):
    from notifications.models import OutboxMessage as Current

    Message = apps.get_model("notifications", "OutboxMessage")  # noqa: N806 - a model class
    alias = schema_editor.connection.alias
    schema_editor.execute("ALTER TABLE notifications_outboxmessage DISABLE TRIGGER notifications_outbox_guard")
    for message in Message.objects.using(alias).filter(status__in=["pending", "failed"]).iterator():
        current = Current(customer_id=message.customer_id, event=message.event, to=message.to,
                          subject=message.subject, body=message.body)
        Message.objects.using(alias).filter(pk=message.pk).update(seal=current.seal_for(settings.SECRET_KEY))
    schema_editor.execute("ALTER TABLE notifications_outboxmessage ENABLE TRIGGER notifications_outbox_guard")


class Migration(migrations.Migration):

    dependencies = [
        ('notifications', '0020_no_notice_to_an_address_of_this_transaction'),
    ]

    operations = [
        migrations.AddField(
            model_name='outboxmessage',
            name='seal',
            field=models.CharField(blank=True, db_default='', max_length=64, verbose_name='封緘'),
        ),
        migrations.RunPython(waiting_mails_seal, migrations.RunPython.noop),
    ]
