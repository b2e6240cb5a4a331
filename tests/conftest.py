"""Project-wide test settings."""

from __future__ import annotations

import os

from hypothesis import settings

# CI explores the same examples every time (reproducible); a developer's run explores anew.
settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
settings.register_profile("dev", deadline=None, print_blob=True)
settings.load_profile("ci" if os.environ.get("CI") else "dev")
