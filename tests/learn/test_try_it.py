"""Every shipped lesson's "Try it in the sandbox" handler runs successfully in the real engine."""

from collections.abc import Iterator

import pytest

from learn.services.content import CONTENT_ROOT, lesson_source_parse
from sandbox.engine import EnvironmentPool, FunctionSpec

LESSONS = [
    lesson_source_parse(text=path.read_text(), path=path.name)
    for path in sorted((CONTENT_ROOT / "lessons").glob("*.md"))
]
WITH_TRY_IT = [source for source in LESSONS if "try_it" in source.data]
# Lab try-its run through their trigger in a lab account: tests/labs/test_lessons.py.
ENGINE_TRY_IT = [source for source in WITH_TRY_IT if "lab" not in source.data["try_it"]]


@pytest.fixture(scope="module")
def pool() -> Iterator[EnvironmentPool]:
    pool = EnvironmentPool()
    try:
        yield pool
    finally:
        pool.shutdown()


def test_every_lesson_has_a_try_it_block() -> None:
    assert [s.slug for s in LESSONS if "try_it" not in s.data] == []


@pytest.mark.content
@pytest.mark.parametrize("source", ENGINE_TRY_IT, ids=[s.slug for s in ENGINE_TRY_IT])
def test_try_it_handler_succeeds_in_the_engine(pool: EnvironmentPool, source) -> None:
    try_it = source.data["try_it"]
    spec = FunctionSpec(
        name=f"try-{source.slug}"[:64],
        handler=try_it["handler"],
        code=dict(try_it["files"]),
        memory_mb=try_it["memory_mb"],
        timeout_s=try_it["timeout_s"],
    )
    result = pool.invoke(spec, try_it.get("event"))
    assert result.status == "success", (result.error, result.log)
    # Warm again, as the learner will: the second run must succeed too.
    again = pool.invoke(spec, try_it.get("event"))
    assert again.status == "success", (again.error, again.log)
