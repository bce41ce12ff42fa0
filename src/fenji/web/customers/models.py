"""Customers and business lines, identified by the external ids of the company's own systems."""

from __future__ import annotations

from django.db import models


class BusinessLine(models.Model):
    code = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=128, blank=True)

    def __str__(self) -> str:
        return self.name or self.code


class Customer(models.Model):
    """A customer (客户). ``owner`` is the login of the responsible sales rep."""

    external_id = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=200, blank=True)
    industry = models.CharField(max_length=64, blank=True, db_index=True)
    region = models.CharField(max_length=64, blank=True, db_index=True)
    scale = models.CharField(max_length=32, blank=True)
    owner = models.CharField(max_length=150, blank=True, db_index=True)
    first_deal_date = models.DateField(null=True, blank=True)
    influence = models.CharField(max_length=64, blank=True)
    tags = models.JSONField(default=list, blank=True)
    attributes = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["external_id"]
        # The customer list sorts by these columns with the external id as tie-break: with an
        # index per sort a page is an index range scan, not a sort of every customer.
        indexes = [
            models.Index(fields=["owner", "external_id"], name="customer_owner_list_idx"),
            models.Index(fields=["name", "external_id"], name="customer_name_list_idx"),
            models.Index(fields=["industry", "external_id"], name="customer_industry_list_idx"),
            models.Index(fields=["region", "external_id"], name="customer_region_list_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.external_id} {self.name}"
