"""The conversation on the thread index: the first human message and the last message that the
list shows, and the conversation's text that search looks in.

On PostgreSQL, a GIN index on the full-text vector of ``messages_text``, on exactly the
expression ``apps.threads.selectors`` searches (``SearchVector("messages_text",
config="simple")``), so a search stays an index lookup with 100,000 threads indexed. SQLite
searches with LIKE and needs nothing. Rows indexed before this migration get their conversation
at their next sync.
"""

from django.db import migrations, models

FTS_INDEX = (
    "CREATE INDEX IF NOT EXISTS threads_messages_fts ON threads_threadindex USING gin "
    "(to_tsvector('simple'::regconfig, COALESCE(messages_text, '')))"
)


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FTS_INDEX)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS threads_messages_fts")


class Migration(migrations.Migration):

    dependencies = [
        ('threads', '0002_postgres_search_indexes'),
    ]

    operations = [
        migrations.AddField(
            model_name='threadindex',
            name='first_message',
            field=models.CharField(blank=True, default='', max_length=200),
        ),
        migrations.AddField(
            model_name='threadindex',
            name='last_message',
            field=models.CharField(blank=True, default='', max_length=200),
        ),
        migrations.AddField(
            model_name='threadindex',
            name='messages_text',
            field=models.TextField(blank=True, default=''),
        ),
        migrations.RunPython(create, drop),
    ]
