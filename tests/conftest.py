from hypothesis import settings

# deadline off: the first example of a property pays for imports and caches
settings.register_profile("default", max_examples=60, deadline=None)
settings.load_profile("default")
