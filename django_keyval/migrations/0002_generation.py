from __future__ import annotations

from django.db import migrations, models

import django_keyval.fields


class Migration(migrations.Migration):
    dependencies = [
        ("django_keyval", "0001_initial"),
    ]

    operations = [
        migrations.CreateModel(
            name="Generation",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("store", django_keyval.fields.ExactCharField(max_length=255, unique=True)),
                ("generation", models.BigIntegerField()),
            ],
            options={
                "verbose_name": "store generation",
            },
        ),
    ]
