import factory

from learn.models import Bookmark, Lesson, LessonProgress, Module, Note
from tests.factories import UserFactory


class ModuleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Module

    slug = factory.Sequence(lambda n: f"module-{n}")
    title = factory.Sequence(lambda n: f"Module {n}")
    order = factory.Sequence(int)
    summary = "A module."


class LessonFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Lesson
        skip_postgeneration_save = True

    module = factory.SubFactory(ModuleFactory)
    slug = factory.Sequence(lambda n: f"lesson-{n}")
    title = factory.Sequence(lambda n: f"Lesson {n}")
    order = factory.Sequence(int)
    summary = "What this lesson is about."
    body_markdown = "## First part\n\nSome text about **cold starts**.\n\n## Second part\n\nMore."
    estimated_minutes = 7
    objectives = factory.LazyFunction(lambda: ["Explain something."])
    takeaways = factory.LazyFunction(lambda: ["Remember something."])
    published = True


class LessonProgressFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LessonProgress

    user = factory.SubFactory(UserFactory)
    lesson = factory.SubFactory(LessonFactory)


class BookmarkFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Bookmark

    user = factory.SubFactory(UserFactory)
    lesson = factory.SubFactory(LessonFactory)


class NoteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Note

    user = factory.SubFactory(UserFactory)
    lesson = factory.SubFactory(LessonFactory)
    text = "My note."
