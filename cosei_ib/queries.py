"""ORM and cursor helpers shared by every app."""

from __future__ import annotations

import datetime as dt
import functools

import psycopg
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import QuerySet

# Django turns psycopg's automatic preparing off (prepare_threshold None, for connection
# poolers); prepared_cursor() turns it on for its own statements only: nothing else asks
# for it, and Django's client-side cursors never prepare, whatever the threshold.
ONLY_WHEN_ASKED = 2**31 - 1


class _PreparedCursor(psycopg.Cursor):
    """Server-side binding, prepared on first use per connection: the server parses and
    plans the statement once per connection, not on every execution. A pooler in front of
    the primary must keep prepared statements (PgBouncer ≥ 1.21 with
    max_prepared_statements; docs/architecture.md)."""

    def execute(self, query, params=None, **kwargs):
        kwargs["prepare"] = True
        return super().execute(query, params, **kwargs)


class _LoggedPreparedCursor(_PreparedCursor):
    """With queries logged (DEBUG, the tests' query counts): psycopg keeps no text of a
    prepared statement's execution, where Django's log reads it; this one keeps the
    statement as sent (``$1`` … for the parameters)."""

    def execute(self, query, params=None, **kwargs):
        result = super().execute(query, params, **kwargs)
        if self._query is None:
            self._query = self._convert_query(query, params)
        return result


def prepared_cursor(alias: str = DEFAULT_DB_ALIAS):
    """A cursor of Django's connection ``alias`` whose statements the server prepares:
    for the SQL the app writes once and runs on every posting or page view, where planning
    costs the server more than running it (残高照会's account list: 0.19 ms to plan, 0.06
    to run; issue 14). What ``connection.cursor()`` does, with a cursor class of our own:
    Django's wrapper keeps query logging, execute wrappers (the notice sender's wake-up)
    and the mapping of errors. Name the columns (no ``*``): a prepared statement whose
    result columns change under it (a migration while the connection lives) fails.
    Use it as ``with prepared_cursor() as cursor:``."""
    db = connections[alias]
    db.close_if_health_check_failed()
    db.ensure_connection()
    db.validate_thread_sharing()
    raw_connection = db.connection
    if raw_connection.prepare_threshold is None:
        raw_connection.prepare_threshold = ONLY_WHEN_ASKED
    if db.queries_logged:
        return db.make_debug_cursor(_LoggedPreparedCursor(raw_connection))
    return db.make_cursor(_PreparedCursor(raw_connection))


# Timestamps read by the SQL the pages write themselves: Django's loader of timestamptz
# parses each value in Python (~4 µs; psycopg's own C loader is not used under it), and a
# customer page reads about a dozen of them — the session's user and customer, the account
# list — against none on the bare page (issue 14). Read as microseconds since the epoch
# (EXTRACT gives an exact numeric; an integer loads in C) and made into the same aware UTC
# datetime here, ~0.4 µs each.
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def epoch_micros(column: str) -> str:
    """SQL of the timestamptz ``column`` as microseconds since the epoch (NULL stays NULL)."""
    return f"(EXTRACT(EPOCH FROM {column}) * 1000000)::bigint"


def moment(micros: int | None) -> dt.datetime | None:
    """The datetime of an ``epoch_micros`` value, as Django's loader gives the column: aware,
    in UTC (``datetime.timezone.utc``); None for NULL."""
    return None if micros is None else EPOCH + dt.timedelta(microseconds=micros)


@functools.cache
def _load_plan(model) -> tuple[tuple[str, ...], tuple[int, ...], tuple[tuple[int, object], ...]]:
    """``model``'s concrete fields as a row of ``model_columns`` holds them: their attribute
    names, the positions of the timestamps, and the JSON fields (position, field) whose
    text the field decodes (Django loads jsonb as text). Once per model and process."""
    fields = model._meta.concrete_fields
    return (tuple(field.attname for field in fields),
            tuple(position for position, field in enumerate(fields)
                  if field.get_internal_type() == "DateTimeField"),
            tuple((position, field) for position, field in enumerate(fields)
                  if field.get_internal_type() == "JSONField"))


def model_columns(model, table: str, prefix: str = "") -> tuple[list[str], tuple[str, ...], tuple[int, ...]]:
    """The SELECT list of ``model``'s concrete fields from ``table`` (an alias in the FROM),
    in field order, each DateTimeField as ``epoch_micros``; their attribute names; and the
    positions of those timestamps, for ``moments_made``. ``prefix``: ``table`` is a
    subquery that named each column ``prefix`` + its column (a join of two models)."""
    names, positions, _decoded = _load_plan(model)
    columns = [f'{table}."{prefix}{field.column}"' for field in model._meta.concrete_fields]
    for position in positions:
        columns[position] = epoch_micros(columns[position])
    return columns, names, positions


def moments_made(values, positions: tuple[int, ...]) -> list:
    """``values`` (a row of ``model_columns``) with the timestamps at ``positions`` made datetimes."""
    values = list(values)
    for position in positions:
        if values[position] is not None:
            values[position] = EPOCH + dt.timedelta(microseconds=values[position])
    return values


def row_instance(model, values, alias: str = DEFAULT_DB_ALIAS):
    """A ``model`` instance from a row of ``model_columns`` (all of it, in order), as the
    ORM loads it: the timestamps made datetimes, the JSON decoded by its field."""
    names, positions, decoded = _load_plan(model)
    values = moments_made(values, positions)
    for position, field in decoded:
        if values[position] is not None:
            values[position] = field.from_db_value(values[position], None, connections[alias])
    return model.from_db(alias, names, values)


def unique_or_none(queryset: QuerySet):
    """The one row of ``queryset`` — a look-up by a unique key (the primary key, a
    one-to-one, a unique constraint) — or None. ``first()`` gives the same row but orders
    by the primary key (or the model's ordering) to choose among rows that cannot be
    there; building that ORDER BY is about a third of such a query's Python (issue 14).
    ``get()`` asks for no order. Works with ``select_for_update()`` and ``values_list()``."""
    try:
        return queryset.get()
    except queryset.model.DoesNotExist:
        return None
