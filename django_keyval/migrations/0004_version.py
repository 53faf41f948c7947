from __future__ import annotations

from django.db import migrations, models

import django_keyval.fields


class Migration(migrations.Migration):
    dependencies = [
        ("django_keyval", "0003_lease"),
    ]

    operations = [
        migrations.CreateModel(
            name="Version",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("store", django_keyval.fields.ExactCharField(max_length=255)),
                ("key", django_keyval.fields.ExactCharField(max_length=255)),
                ("value", models.BinaryField(null=True)),
                ("serializer", models.CharField(blank=True, max_length=200)),
                ("mac", models.BinaryField(max_length=32, null=True)),
                ("deleted", models.BooleanField(default=False)),
                ("changed_at", models.FloatField()),
                ("source", models.CharField(max_length=16)),
                ("user_pk", models.CharField(blank=True, max_length=255)),
                ("user_repr", models.CharField(blank=True, max_length=255)),
            ],
            options={
                "verbose_name": "key version",
                "indexes": [
                    models.Index(fields=["store", "key", "id"], name="django_keyval_version_key")
                ],
            },
        ),
    ]
