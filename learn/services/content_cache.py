"""A generation number for cached course pages: any change to a lesson or module moves it on.

Cached pages put the generation in their keys, so one bump retires them all without knowing
their keys. A missing generation (a cold or flushed cache) gets a fresh random one, never an
old value, so nothing cached before can be served again.
"""

import uuid
from typing import Any

from django.core.cache import cache

GENERATION_KEY = "learn:content-generation"


def content_generation() -> str:
    generation = cache.get(GENERATION_KEY)
    if generation is None:
        cache.add(GENERATION_KEY, uuid.uuid4().hex, None)
        generation = cache.get(GENERATION_KEY) or "uncached"
    return str(generation)


def content_generation_bump(**kwargs: Any) -> None:
    """Signal receiver: a lesson, module or prerequisite changed."""
    cache.set(GENERATION_KEY, uuid.uuid4().hex, None)
