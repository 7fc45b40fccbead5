"""The order of modules, and of lessons within each module (/instructor/lessons/order/).

The page posts a number for every module and lesson: dragging (static/js/reorder.js), the
move buttons and typing a number all end in the same numbers, and saving renumbers each list
1, 2, 3... in the order given (ties keep the current order). Only rows whose number changed are
saved; each is recorded in the admin log, and a lesson's content version follows its order as
its exported file's front matter does.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.admin.models import CHANGE
from django.contrib.auth.models import User
from django.db import transaction

from learn.cohorts.services import admin_log
from learn.models import Lesson, Module
from learn.services.content import content_version_for, lesson_front_matter

MOVES = ("up", "down")


@dataclass
class ModuleOrder:
    module: Module
    lessons: list[Lesson]


def course_outline() -> list[ModuleOrder]:
    """Modules in order, each with its lessons in order (two queries)."""
    modules = list(Module.objects.order_by("order", "slug"))
    lessons: dict[int, list[Lesson]] = {m.pk: [] for m in modules}
    for lesson in Lesson.objects.order_by("order", "slug"):
        lessons.setdefault(lesson.module_id, []).append(lesson)
    return [ModuleOrder(module=m, lessons=lessons[m.pk]) for m in modules]


def _ranked(items: list, numbers: dict[int, int]) -> list:
    """items sorted by their posted number (missing: where they are now). On a tie, an item
    given a new number goes where that number is: before the one there if it moved up, after
    it if it moved down (typing 3 for the first of three makes it the third)."""
    keyed = []
    for position, item in enumerate(items, start=1):
        number = numbers.get(item.pk, position)
        keyed.append((number, (number > position) - (number < position), position, item))
    return [item for *_, item in sorted(keyed, key=lambda k: k[:3])]


def _moved(items: list, key: str, target: int) -> list:
    index = next((n for n, item in enumerate(items) if item.pk == target), None)
    if index is None:
        return items
    other = index - 1 if key == "up" else index + 1
    if not 0 <= other < len(items):
        return items
    items = list(items)
    items[index], items[other] = items[other], items[index]
    return items


@transaction.atomic
def course_reorder(
    *,
    actor: User,
    module_numbers: dict[int, int],
    lesson_numbers: dict[int, int],
    move: tuple[str, str, int] | None = None,
) -> int:
    """Put modules and each module's lessons in the order of the posted numbers, then apply
    move ("module" or "lesson", "up" or "down", id) if given. Returns how many rows changed."""
    outline = course_outline()
    modules = _ranked([entry.module for entry in outline], module_numbers)
    if move and move[0] == "module" and move[1] in MOVES:
        modules = _moved(modules, move[1], move[2])
    changed = 0
    for number, module in enumerate(modules, start=1):
        if module.order != number:
            module.order = number
            module.save(update_fields=["order", "updated_at"])
            admin_log(actor=actor, obj=module, flag=CHANGE, message=f"Moved to position {number}.")
            changed += 1
    for entry in outline:
        lessons = _ranked(entry.lessons, lesson_numbers)
        if move and move[0] == "lesson" and move[1] in MOVES:
            lessons = _moved(lessons, move[1], move[2])
        for number, lesson in enumerate(lessons, start=1):
            if lesson.order == number:
                continue
            lesson.order = number
            lesson.content_version = content_version_for(
                data=lesson_front_matter(lesson=lesson), body=lesson.body_markdown
            )
            lesson.save(update_fields=["order", "content_version", "updated_at"])
            admin_log(
                actor=actor,
                obj=lesson,
                flag=CHANGE,
                message=f"Moved to position {number} in {entry.module.title}.",
            )
            changed += 1
    return changed
