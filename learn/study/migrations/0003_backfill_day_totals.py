"""Backfill study.DayTotal from the answers, reviews and study spans written before it existed.

Uses the migration's historical models, so later changes to the live ones cannot break it.
"""

from django.db import migrations


def backfill(apps, schema_editor):
    from learn.study.services.totals import Sources, day_totals_rebuild_all

    day_totals_rebuild_all(
        sources=Sources(
            day_total=apps.get_model("study", "DayTotal"),
            answer=apps.get_model("practice", "Answer"),
            review_log=apps.get_model("practice", "ReviewLog"),
            study_span=apps.get_model("study", "StudySpan"),
            profile=apps.get_model("study", "StudyProfile"),
        )
    )


class Migration(migrations.Migration):
    dependencies = [
        ("study", "0002_day_totals"),
        ("practice", "0004_submission_runtime"),
    ]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
