"""Shared fixtures live in tests/fixtures/ (indico-style), loaded as plugins."""

import os

from hypothesis import settings

pytest_plugins = [
    "tests.fixtures.database",
    "tests.fixtures.app",
]

# Locally every run explores new examples (and has found real bugs); in CI the
# same examples run every time, so a landing never hangs on a lucky draw.
# Explore more with HYPOTHESIS_PROFILE=explore.
settings.register_profile("ci", derandomize=True, database=None)
settings.register_profile("explore", max_examples=500)
if os.environ.get("HYPOTHESIS_PROFILE"):
    settings.load_profile(os.environ["HYPOTHESIS_PROFILE"])
elif os.environ.get("CI"):
    settings.load_profile("ci")
