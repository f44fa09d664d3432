import pytest
from hypothesis import settings

from tests.support.profile import DEFAULT_EXAMPLES, PROFILE, PROFILES, THOROUGH

# deadline off: the first example of a property pays for imports and caches
for name, count in DEFAULT_EXAMPLES.items():
    settings.register_profile(name, max_examples=count, deadline=None)


def pytest_configure() -> None:
    if PROFILE not in PROFILES:
        raise pytest.UsageError(
            f"CONVGRAD_TESTS={PROFILE!r} is not a profile; allowed: {', '.join(PROFILES)}"
        )
    settings.load_profile(PROFILE)


def pytest_report_header() -> str:
    if THOROUGH:
        return "convgrad tests: thorough (every example of each property, and the slow tests)"
    return "convgrad tests: quick (a few examples of each property; CONVGRAD_TESTS=thorough runs them all)"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if THOROUGH:
        return
    skip = pytest.mark.skip(reason="slow: the quick run leaves it to CONVGRAD_TESTS=thorough (.ci/run)")
    for item in items:
        if item.get_closest_marker("slow"):
            item.add_marker(skip)
