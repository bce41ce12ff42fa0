"""Facts about customers: orders, receivables, monthly targets, score events, follow-ups and
feedback. Money is an exact decimal (18 digits, 4 after the point), as in the engine."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from fenji.web.customers.models import BusinessLine, Customer

MONEY = {"max_digits": 18, "decimal_places": 4}


class Order(models.Model):
    external_id = models.CharField(max_length=64, unique=True)
    # Both foreign keys are served by the composite indexes below (a customer's orders by
    # date; the customers buying in a line, which the customer list's line filter reads
    # without touching the rows): single-column indexes on them would only slow imports.
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="orders", db_index=False
    )
    business_line = models.ForeignKey(
        BusinessLine, null=True, blank=True, on_delete=models.PROTECT, db_index=False
    )
    order_date = models.DateField(db_index=True)
    amount = models.DecimalField(**MONEY)
    quantity = models.DecimalField(null=True, blank=True, **MONEY)
    channel = models.CharField(max_length=32, blank=True)
    status = models.CharField(max_length=32, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["customer", "order_date"]),
            models.Index(fields=["business_line", "customer"]),
        ]


class Receivable(models.Model):
    external_id = models.CharField(max_length=64, unique=True)
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="receivables")
    business_line = models.ForeignKey(BusinessLine, null=True, blank=True, on_delete=models.PROTECT)
    due_date = models.DateField(db_index=True)
    amount = models.DecimalField(**MONEY)
    paid_date = models.DateField(null=True, blank=True)


class MonthlyTarget(models.Model):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="targets")
    business_line = models.ForeignKey(BusinessLine, null=True, blank=True, on_delete=models.PROTECT)
    month = models.DateField(help_text="first day of the month")
    target_amount = models.DecimalField(**MONEY)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "business_line", "month"], name="target_unique_per_month"
            )
        ]


class ScoreEvent(models.Model):
    """A bonus, deduction or red-line event (加分、扣分、红线)."""

    external_id = models.CharField(max_length=64, unique=True)
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="score_events")
    business_line = models.ForeignKey(BusinessLine, null=True, blank=True, on_delete=models.PROTECT)
    event_date = models.DateField(db_index=True)
    item = models.CharField(max_length=64)
    points = models.DecimalField(**MONEY)
    red_line = models.BooleanField(default=False)


class Interaction(models.Model):
    """A follow-up: visit, call, e-mail or meeting (跟进记录).

    ``external_id`` is the record's id in the company's CRM, so that importing the same export
    twice changes nothing; follow-ups written in fenji itself have none.
    """

    class Kind(models.TextChoices):
        VISIT = "visit", "拜访 visit"
        CALL = "call", "电话 call"
        EMAIL = "email", "邮件 e-mail"
        MEETING = "meeting", "会议 meeting"

    external_id = models.CharField(max_length=64, null=True, blank=True)
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="interactions")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    happened_on = models.DateField(db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    note = models.TextField(blank=True)
    next_due = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["-happened_on", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["external_id"],
                condition=models.Q(external_id__isnull=False),
                name="interaction_external_id_unique",
            )
        ]


class Feedback(models.Model):
    """Satisfaction scores and complaints (满意度、投诉).

    ``external_id`` identifies an imported record (a survey answer, a complaint ticket), so
    that re-imports are idempotent; feedback entered in fenji itself has none.
    """

    class Kind(models.TextChoices):
        SATISFACTION = "satisfaction", "满意度 satisfaction"
        COMPLAINT = "complaint", "投诉 complaint"

    external_id = models.CharField(max_length=64, null=True, blank=True)
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="feedback")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    received_on = models.DateField()
    score = models.DecimalField(null=True, blank=True, max_digits=5, decimal_places=2)
    text = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["external_id"],
                condition=models.Q(external_id__isnull=False),
                name="feedback_external_id_unique",
            )
        ]
