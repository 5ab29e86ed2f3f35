"""Column types that behave the same on SQLite and PostgreSQL.

No Flask import: migrations use these types too.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator

MONEY_PRECISION = 18
MONEY_SCALE = 8


class UTCDateTime(TypeDecorator):
    """Store aware datetimes as naive UTC; load them back as aware UTC."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        """Convert to naive UTC on the way in; naive input is taken as UTC."""
        if value is None:
            return None
        if value.tzinfo is not None:
            value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):
        """Attach UTC on the way out."""
        if value is None:
            return None
        return value.replace(tzinfo=dt.timezone.utc)


class ExactMoney(TypeDecorator):
    """Exact money: ``NUMERIC(18, 8)``, or integer units of 10^-8 on SQLite.

    SQLite has no decimal type: a NUMERIC column stores REAL, so 0.1 + 0.2 drifts
    and 9999999999.99999999 comes back as 10000000000. Integers are exact there,
    and so is ``SUM()`` over them.
    """

    impl = sa.Numeric(MONEY_PRECISION, MONEY_SCALE)
    cache_ok = True

    def __init__(self, precision: int = MONEY_PRECISION):
        """``precision`` digits in all (wider for columns that hold sums); always 8 after the point."""
        super().__init__()
        self.precision = precision

    def load_dialect_impl(self, dialect):
        """BIGINT units on SQLite, NUMERIC elsewhere."""
        if dialect.name == "sqlite":
            return dialect.type_descriptor(sa.BigInteger())
        return dialect.type_descriptor(sa.Numeric(self.precision, MONEY_SCALE))

    def process_bind_param(self, value, dialect):
        """Decimal in; on SQLite, exact integer units (refusing to round silently)."""
        if value is None:
            return None
        value = Decimal(value)
        if dialect.name != "sqlite":
            return value
        units = value.scaleb(MONEY_SCALE)
        if units != units.to_integral_value():
            raise ValueError(f"{value} has more than {MONEY_SCALE} decimal places")
        return int(units)

    def process_result_value(self, value, dialect):
        """Always a Decimal out."""
        if value is None:
            return None
        if dialect.name == "sqlite":
            # SUM() of integers is an integer; AVG() is a float (an average, not a total).
            units = Decimal(value) if isinstance(value, int) else Decimal(repr(value))
            return units.scaleb(-MONEY_SCALE)
        return Decimal(value)

    @property
    def python_type(self):
        return Decimal
