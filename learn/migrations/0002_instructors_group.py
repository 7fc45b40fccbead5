from django.db import migrations

INSTRUCTORS_GROUP = "Instructors"


def create_group(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Group.objects.get_or_create(name=INSTRUCTORS_GROUP)
    # Its permissions are granted by learn.roles.instructors_group_sync after every migrate,
    # because permissions for models added later do not exist yet at this point.


def delete_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=INSTRUCTORS_GROUP).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("learn", "0001_course"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [migrations.RunPython(create_group, delete_group)]
