"""Indexes for the customer list's sorts: each sort column with the external id as tie-break."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0001_initial"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="customer",
            index=models.Index(fields=["owner", "external_id"], name="customer_owner_list_idx"),
        ),
        migrations.AddIndex(
            model_name="customer",
            index=models.Index(fields=["name", "external_id"], name="customer_name_list_idx"),
        ),
        migrations.AddIndex(
            model_name="customer",
            index=models.Index(
                fields=["industry", "external_id"], name="customer_industry_list_idx"
            ),
        ),
        migrations.AddIndex(
            model_name="customer",
            index=models.Index(fields=["region", "external_id"], name="customer_region_list_idx"),
        ),
    ]
