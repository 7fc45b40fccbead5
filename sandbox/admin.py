from django.contrib import admin

from sandbox.models import Experiment, Function, FunctionFile, Invocation, TestEvent


class FunctionFileInline(admin.StackedInline):
    model = FunctionFile
    extra = 0


class TestEventInline(admin.TabularInline):
    model = TestEvent
    extra = 0


@admin.register(Function)
class FunctionAdmin(admin.ModelAdmin):
    list_display = ["name", "owner", "runtime", "memory_mb", "timeout_s", "updated_at"]
    list_filter = ["runtime", "architecture"]
    search_fields = ["name", "owner__username"]
    inlines = [FunctionFileInline, TestEventInline]


@admin.register(Invocation)
class InvocationAdmin(admin.ModelAdmin):
    # Results come from the engine: shown, never edited.
    list_display = ["pk", "function", "status", "cold_start", "duration_ms", "created_at"]
    list_filter = ["status", "cold_start"]
    search_fields = ["function__name", "request_id"]
    list_select_related = ["function"]
    readonly_fields = [field.name for field in Invocation._meta.fields]


@admin.register(Experiment)
class ExperimentAdmin(admin.ModelAdmin):
    list_display = ["pk", "function", "kind", "size", "created_at"]
    list_filter = ["kind"]
