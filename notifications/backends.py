"""Development mail delivery (NOTE-4): each message becomes one ``.eml`` file (the exact
bytes an SMTP server would receive) under ``NOTIFICATIONS_EML_DIR``; any mail client opens
it and shows the signature. ``dev.py run`` prints the folder."""

from __future__ import annotations

import datetime as dt
import re
import secrets
from pathlib import Path

from django.conf import settings
from django.core.mail.backends.base import BaseEmailBackend


def eml_dir() -> Path:
    return Path(settings.NOTIFICATIONS_EML_DIR)


class EmlFileBackend(BaseEmailBackend):
    def send_messages(self, email_messages) -> int:
        folder = eml_dir()
        folder.mkdir(parents=True, exist_ok=True)
        sent = 0
        for message in email_messages:
            if not message.recipients():
                continue
            data = message.message().as_bytes(linesep="\r\n")
            recipient = re.sub(r"[^A-Za-z0-9@._-]", "_", message.recipients()[0])[:80]
            stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
            path = folder / f"{stamp}-{recipient}-{secrets.token_hex(3)}.eml"
            temporary = path.with_suffix(".tmp")
            temporary.write_bytes(data)
            temporary.replace(path)  # a reader never sees half a file
            sent += 1
        return sent
