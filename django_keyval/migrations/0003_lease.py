from __future__ import annotations

from django.db import migrations, models

import django_keyval.fields


class Migration(migrations.Migration):
    dependencies = [
        ("django_keyval", "0002_generation"),
    ]

    operations = [
        migrations.CreateModel(
            name="Lease",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("store", django_keyval.fields.ExactCharField(max_length=255)),
                ("name", django_keyval.fields.ExactCharField(max_length=255)),
                ("owner", models.CharField(max_length=32)),
                ("fence", models.BigIntegerField()),
                ("expires_at", models.FloatField()),
            ],
            options={
                "verbose_name": "lease",
                "constraints": [
                    models.UniqueConstraint(
                        fields=("store", "name"), name="django_keyval_lease_name"
                    )
                ],
            },
        ),
    ]
