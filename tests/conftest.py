"""Shared fixtures live in tests/fixtures/ (indico-style), loaded as plugins."""

pytest_plugins = [
    "tests.fixtures.database",
    "tests.fixtures.app",
]
