"""Every property's examples go through ``examples(n)``, so that the thorough
profile (.ci/run) tries each as often as it is written for and the quick one
scales it down; a bare number would be the same in both."""

import re
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def test_every_property_takes_its_examples_from_the_profile():
    bare = [
        f"{path.relative_to(TESTS)}:{n}"
        for path in sorted(TESTS.rglob("*.py"))
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if re.search(r"max_examples=\d", line)
    ]
    assert not bare, f"give these max_examples=examples(n) (tests/support/profile.py): {bare}"
