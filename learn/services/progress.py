"""A learner's own writes on lessons: reading position, completion, bookmarks and notes."""

from datetime import timedelta

from django.contrib.auth.models import User
from django.utils import timezone

from learn.models import Bookmark, Lesson, LessonProgress, Note

NOTE_MAX_CHARS = 10_000


# Opening a lesson again this soon after the last recorded view writes nothing: a page view
# is then a pure read, and "continue where you left off" needs no finer clock than this.
VIEW_RECORD_INTERVAL = timedelta(seconds=60)


def lesson_view_record(
    *, user: User, lesson: Lesson, progress: LessonProgress | None = None
) -> None:
    """Remember that `user` opened `lesson` now (drives "continue where you left off").

    `progress` is the learner's row for the lesson when the caller has already read it (None if
    there is none); a view within VIEW_RECORD_INTERVAL of the recorded one is not written.
    """
    now = timezone.now()
    if progress is None:
        LessonProgress.objects.update_or_create(
            user=user, lesson=lesson, defaults={"last_viewed_at": now}
        )
        return
    last = progress.last_viewed_at
    if last is not None and now - last < VIEW_RECORD_INTERVAL:
        return
    LessonProgress.objects.filter(pk=progress.pk).update(last_viewed_at=now, updated_at=now)


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
