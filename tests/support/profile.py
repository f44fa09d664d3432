"""How thoroughly the suite runs, chosen by ``CONVGRAD_TESTS``.

``quick`` (the default) tries each property on a few examples and skips the
tests marked ``slow`` (a browser, pdflatex, a process per example), so that
``pytest`` is worth running before every commit; ``thorough`` (what ``.ci/run``
sets) tries each property as often as it is written for and runs every test.
"""

from __future__ import annotations

import os

PROFILES = ("quick", "thorough")
PROFILE = os.environ.get("CONVGRAD_TESTS", "quick")
THOROUGH = PROFILE == "thorough"

#: Examples of a property without a number of its own, as Hypothesis's profiles set them.
DEFAULT_EXAMPLES = {"quick": 10, "thorough": 60}


def examples(thorough: int) -> int:
    """A property's examples: ``thorough`` in the thorough profile, a sixth (at least 5) in the quick one."""
    return thorough if THOROUGH else max(5, thorough // 6)
