from learn.models.base import TimeStampedModel
from learn.models.lessons import Lesson, Module

__all__ = ["Lesson", "Module", "TimeStampedModel"]
