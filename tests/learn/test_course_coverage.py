"""The course's shape: every lesson has enough questions and a code challenge to practise with."""

from collections import Counter

import yaml

from learn.services.content import CONTENT_ROOT


def question_metas() -> list[dict]:
    return [
        yaml.safe_load(path.read_text().split("---", 2)[1])
        for path in sorted((CONTENT_ROOT / "questions").rglob("*.md"))
    ]


def lesson_slugs() -> list[str]:
    return [
        yaml.safe_load(path.read_text().split("---", 2)[1])["slug"]
        for path in sorted((CONTENT_ROOT / "lessons").glob("*.md"))
    ]


def test_every_lesson_has_at_least_eight_questions_and_a_code_challenge() -> None:
    metas = question_metas()
    questions = Counter(m["lesson"] for m in metas)
    challenges = Counter(m["lesson"] for m in metas if m["type"] == "code")
    assert {s: questions[s] for s in lesson_slugs() if questions[s] < 8} == {}
    assert [s for s in lesson_slugs() if challenges[s] < 1] == []


BRIEF_INTERVIEW_QUESTIONS = {
    "benefits-of-lambda",
    "max-execution-time",
    "how-lambda-handles-concurrency",
    "execution-environment-explained",
    "accessing-other-aws-services",
    "lambda-limitations",
    "api-gateway-with-lambda",
    "what-is-a-cold-start",
}


def test_the_eight_interview_questions_have_a_rubric_and_two_or_three_follow_ups() -> None:
    metas = {m["slug"]: m for m in question_metas()}
    for slug in BRIEF_INTERVIEW_QUESTIONS:
        meta = metas[slug]
        assert meta["interview"] and meta["type"] == "short", slug
        assert len(meta["key_points"]) >= 3, slug
        assert 2 <= len(meta.get("follow_ups", [])) <= 3, slug


def test_sample_report_lines_bill_init_on_cold_starts() -> None:
    """A REPORT line that shows Init Duration bills it too (AWS's format since August 2025)."""
    import re

    pattern = re.compile(
        r"Duration: ([0-9.]+) ms\s+Billed Duration: ([0-9]+) ms.*?Init Duration: ([0-9.]+) ms"
    )
    found = 0
    for path in sorted(CONTENT_ROOT.rglob("*.md")):
        for duration, billed, init in pattern.findall(path.read_text()):
            found += 1
            expected = -(-round((float(duration) + float(init)) * 100) // 100)
            assert int(billed) == expected, (path.name, duration, billed, init)
    assert found >= 3


def test_the_bank_holds_at_least_220_questions_and_22_challenges() -> None:
    metas = question_metas()
    assert len(metas) >= 220
    assert sum(1 for m in metas if m["type"] == "code") >= 22
