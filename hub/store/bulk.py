"""Bulk INSERTs for the intake's hot path: compiled once, values converted column by column.

SQLAlchemy's executemany binds every parameter of every row through its generic machinery,
which at thousands of signals a second costs more than SQLite's own work. Here the statement
is compiled once per table and set of columns, each column's bind processor (the dialect's own
conversion, e.g. SQLite's text dates) is looked up once, and the rows go to the driver's
executemany as they are. What is stored is exactly what SQLAlchemy would have stored.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Table, insert
from sqlalchemy.engine import Dialect


class _Statement:
    def __init__(self, table: Table, columns: tuple[str, ...], dialect: Dialect) -> None:
        compiled = insert(table).compile(dialect=dialect, column_keys=list(columns))
        self.sql = str(compiled)
        self.positional = bool(compiled.positional)
        # The driver's parameter order (positional styles) or names (named styles).
        self.names: tuple[str, ...] = (
            tuple(compiled.positiontup or ()) if self.positional else columns
        )
        self._values = operator.itemgetter(*self.names)
        # Only the columns that need converting are touched per row (dates on SQLite, say).
        self._conversions: tuple[tuple[int, Callable[[Any], Any]], ...] = tuple(
            (i, p)
            for i, name in enumerate(self.names)
            if (p := table.c[name].type.dialect_impl(dialect).bind_processor(dialect)) is not None
        )

    def parameters(self, rows: Sequence[Mapping[str, Any]]) -> list[Any]:
        out: list[Any] = []
        single = len(self.names) == 1
        for r in rows:
            values = [self._values(r)] if single else list(self._values(r))
            for i, convert in self._conversions:
                if values[i] is not None:
                    values[i] = convert(values[i])
            out.append(
                tuple(values) if self.positional else dict(zip(self.names, values, strict=True))
            )
        return out


class BulkInsert:
    """INSERTs of many rows into one table, each row a mapping of column name to value."""

    def __init__(self, table: Table) -> None:
        self._table = table
        self._statements: dict[tuple[Dialect, tuple[str, ...]], _Statement] = {}

    def execute(self, conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
        """Insert `rows` (all with the same columns) in the connection's transaction."""
        if not rows:
            return
        columns = tuple(rows[0])
        key = (conn.dialect, columns)
        statement = self._statements.get(key)
        if statement is None:
            statement = self._statements[key] = _Statement(self._table, columns, conn.dialect)
        conn.exec_driver_sql(statement.sql, statement.parameters(rows))
