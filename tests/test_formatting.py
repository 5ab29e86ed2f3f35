"""How pages print money, durations, rates and changes (display only; stored values stay exact)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from portal.formatting import change, duration, money, percent


@pytest.mark.parametrize("value, shown", [
    (None, "—"), (Decimal("0"), "0.00"), (Decimal("0.00004"), "<0.0001"), (Decimal("0.06504999"), "0.0650"),
    (Decimal("0.06505"), "0.0651"), (Decimal("99.99999"), "100.0000"), (Decimal("1234.5"), "1,234.50"),
])
def test_money(value, shown):
    assert money(value) == shown


@pytest.mark.parametrize("seconds, shown", [
    (None, "—"), (0.0004, "0 ms"), (0.635, "635 ms"), (1.0, "1.0 s"), (59.94, "59.9 s"), (161.413, "2m 41s"), (3600, "60m 00s"),
])
def test_duration(seconds, shown):
    assert duration(seconds) == shown


def test_percent_and_change():
    assert percent(None) == "—"
    assert percent(Decimal("0.019008")) == "1.9%"
    assert percent(Decimal("0.0005")) == "0.1%"  # half up
    assert change(Decimal("150"), Decimal("100")) == ("+50.0%", "up")
    assert change(90, 100) == ("-10.0%", "down")
    assert change(Decimal("100.4"), Decimal("100")) == ("+0.4%", "flat")
    assert change(5, 0) is None and change(None, 3) is None
