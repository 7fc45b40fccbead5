from learn.models.base import TimeStampedModel
from learn.models.lessons import Bookmark, Lesson, LessonProgress, Module, Note, SearchDocument

__all__ = [
    "Bookmark",
    "Lesson",
    "LessonProgress",
    "Module",
    "Note",
    "SearchDocument",
    "TimeStampedModel",
]
