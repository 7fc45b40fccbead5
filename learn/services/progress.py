"""A learner's own writes on lessons: reading position, completion, bookmarks and notes."""

from django.contrib.auth.models import User
from django.utils import timezone

from learn.models import Bookmark, Lesson, LessonProgress, Note

NOTE_MAX_CHARS = 10_000


def lesson_view_record(*, user: User, lesson: Lesson) -> LessonProgress:
    """Remember that `user` opened `lesson` now (drives "continue where you left off")."""
    progress, _ = LessonProgress.objects.update_or_create(
        user=user, lesson=lesson, defaults={"last_viewed_at": timezone.now()}
    )
    return progress


def lesson_completion_set(*, user: User, lesson: Lesson, completed: bool) -> LessonProgress:
    """Mark `lesson` complete (keeping the first completion time) or not complete again."""
    progress, _ = LessonProgress.objects.get_or_create(user=user, lesson=lesson)
    if completed and progress.completed_at is None:
        progress.completed_at = timezone.now()
        progress.save(update_fields=["completed_at", "updated_at"])
    elif not completed and progress.completed_at is not None:
        progress.completed_at = None
        progress.save(update_fields=["completed_at", "updated_at"])
    return progress


def bookmark_set(*, user: User, lesson: Lesson, bookmarked: bool) -> bool:
    """Add or remove the bookmark; returns whether the lesson is bookmarked afterwards."""
    if bookmarked:
        Bookmark.objects.get_or_create(user=user, lesson=lesson)
    else:
        Bookmark.objects.filter(user=user, lesson=lesson).delete()
    return bookmarked


def note_save(*, user: User, lesson: Lesson, text: str) -> Note | None:
    """Save the learner's note on `lesson`; an empty note removes it.

    Raises ValueError if the note is too long.
    """
    text = text.strip()
    if len(text) > NOTE_MAX_CHARS:
        raise ValueError(f"Notes are limited to {NOTE_MAX_CHARS:,} characters.")
    if not text:
        Note.objects.filter(user=user, lesson=lesson).delete()
        return None
    note, _ = Note.objects.update_or_create(user=user, lesson=lesson, defaults={"text": text})
    return note
