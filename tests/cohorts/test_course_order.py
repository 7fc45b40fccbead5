"""learn/cohorts/course_order.py and /instructor/lessons/order/: ordering modules and lessons
by numbers and by moves (what dragging and the move buttons post)."""

import pytest
from django.contrib.admin.models import LogEntry

from learn.cohorts.course_order import course_outline, course_reorder
from learn.models import Lesson, Module
from tests.learn.factories import LessonFactory, ModuleFactory

pytestmark = pytest.mark.django_db
URL = "/instructor/lessons/order/"


@pytest.fixture
def course() -> list[Module]:
    modules = [ModuleFactory(slug=f"m{n}", title=f"Module {n}", order=n) for n in (1, 2)]
    for module in modules:
        for n in (1, 2, 3):
            LessonFactory(module=module, slug=f"{module.slug}-l{n}", order=n)
    return modules


def slugs() -> list[list[str]]:
    return [[e.module.slug, *(lesson.slug for lesson in e.lessons)] for e in course_outline()]


def test_numbers_put_lessons_and_modules_in_order(course, instructor) -> None:
    lessons = {lesson.slug: lesson.pk for lesson in Lesson.objects.all()}
    changed = course_reorder(
        actor=instructor,
        module_numbers={course[0].pk: 2, course[1].pk: 1},
        lesson_numbers={lessons["m1-l3"]: 1, lessons["m1-l1"]: 5},  # m1-l2 keeps 2
    )
    assert slugs() == [["m2", "m2-l1", "m2-l2", "m2-l3"], ["m1", "m1-l3", "m1-l2", "m1-l1"]]
    assert sorted(Lesson.objects.filter(module=course[0]).values_list("order", flat=True)) == [
        1,
        2,
        3,
    ]
    assert changed == 4  # two modules, two lessons (m1-l2 stayed second)
    assert LogEntry.objects.filter(user=instructor).count() == 4


def test_a_lessons_content_version_follows_its_order(course, instructor) -> None:
    lesson = Lesson.objects.get(slug="m1-l1")
    before = lesson.content_version
    course_reorder(actor=instructor, module_numbers={}, lesson_numbers={lesson.pk: 3})
    lesson.refresh_from_db()
    assert lesson.order == 3 and lesson.content_version != before


def test_moves_swap_with_a_neighbour_and_stop_at_the_ends(course, instructor) -> None:
    first = Lesson.objects.get(slug="m1-l1")
    course_reorder(
        actor=instructor, module_numbers={}, lesson_numbers={}, move=("lesson", "down", first.pk)
    )
    assert slugs()[0] == ["m1", "m1-l2", "m1-l1", "m1-l3"]
    assert (
        course_reorder(
            actor=instructor,
            module_numbers={},
            lesson_numbers={},
            move=("module", "up", course[0].pk),
        )
        == 0
    )


def test_the_page_saves_numbers_and_moves_as_plain_posts(client, course, instructor) -> None:
    client.force_login(instructor)
    page = client.get(URL).content.decode()
    assert 'name="module-' in page and 'value="module:up:' in page and "reorder.js" in page
    response = client.post(URL, {"move": f"module:down:{course[0].pk}"}, follow=True)
    assert "Order saved." in response.content.decode()
    assert [e.module.slug for e in course_outline()] == ["m2", "m1"]
    lesson = Lesson.objects.get(slug="m2-l3")
    client.post(URL, {f"lesson-{lesson.pk}": "1", "move": "nonsense", "lesson-x": "2"})
    assert slugs()[0] == ["m2", "m2-l3", "m2-l1", "m2-l2"]
    # htmx saves (what the page's script sends) answer with the outline only.
    htmx = client.post(URL, {f"lesson-{lesson.pk}": "oops"}, HTTP_HX_REQUEST="true")
    assert htmx.status_code == 200 and "<html" not in htmx.content.decode()


def test_learners_cannot_order_the_course(client, course, learner) -> None:
    client.force_login(learner)
    assert client.get(URL).status_code == 403
    assert client.post(URL, {"move": f"module:down:{course[0].pk}"}).status_code == 403
    assert [e.module.slug for e in course_outline()] == ["m1", "m2"]
