"""On SQLite, an FTS5 index over learn_searchdocument; PostgreSQL searches with tsvector instead."""

from django.db import migrations

CREATE = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS learn_searchdocument_fts USING fts5("
    "title, body, tokenize = 'porter unicode61 remove_diacritics 2')"
)
DROP = "DROP TABLE IF EXISTS learn_searchdocument_fts"


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        schema_editor.execute(CREATE)


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("learn", "0003_lesson_content_progress")]

    operations = [migrations.RunPython(create_index, drop_index)]
