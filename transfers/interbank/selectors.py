"""Reads of the interbank exchange for staff pages (XFER-12)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet

from transfers.models import InterbankIncomingRecord

from .services import incoming_record_release_problem


@dataclass
class HeldRelease:
    """A record staff chose to release (入金保留 → 入金), with the record of another file it
    repeats (None: none left, or the record is not 入金保留 and is not credited)."""

    record: InterbankIncomingRecord
    repeats: InterbankIncomingRecord | None
    # why a held record would be refused as it stands (名義相違, the account frozen …; '' none):
    # the confirm page says so and does not offer it (walk32 F2)
    problem: str = ""

    @property
    def releasable(self) -> bool:
        return self.record.status == InterbankIncomingRecord.Status.HELD and not self.problem


def held_release_list(records: QuerySet[InterbankIncomingRecord]) -> list[HeldRelease]:
    """What the 入金保留 release confirm page lists (walk26 F4): each chosen record with the
    earliest record of the same 為替 elsewhere that is not returned — the one the upload
    held it against (services._same_elsewhere)."""
    chosen = list(records.select_related("file", "account__branch").order_by("file", "line"))
    keys = {record.record_key for record in chosen if record.record_key}
    alike = (InterbankIncomingRecord.objects.filter(record_key__in=keys)
             .exclude(status=InterbankIncomingRecord.Status.RETURNED)
             .select_related("account__branch").order_by("id"))
    by_key: dict[str, list[InterbankIncomingRecord]] = {}
    for record in alike:
        by_key.setdefault(record.record_key, []).append(record)
    held = InterbankIncomingRecord.Status.HELD
    return [HeldRelease(record=record, repeats=next(
        (other for other in by_key.get(record.record_key, []) if other.pk != record.pk), None)
        if record.status == held else None,
        problem=incoming_record_release_problem(record) if record.status == held else "") for record in chosen]
