from django.db.models import Prefetch, QuerySet

from learn.models import Lesson, Module


def module_list() -> QuerySet[Module]:
    """Modules in course order with their published lessons, in two queries."""
    published = Lesson.objects.filter(published=True).order_by("order", "slug")
    return Module.objects.prefetch_related(Prefetch("lessons", queryset=published))
