"""Evaluation runs, their results, the published run per policy, and manual overrides.

A run writes its results under its own id while nobody looks at them; publishing it is one
update of :class:`Publication` in one transaction, so a reader sees the previous run or the new
one, never a mixture. A run killed half-way leaves rows that no publication points to; the next
run removes them.

Run results are written in bulk (COPY on PostgreSQL, batched inserts on SQLite) by the run
service alone, from ids read in the same database snapshot as the facts. Their foreign keys are
therefore not re-checked row by row by the database (``db_constraint=False``): on 250,000 rows
those checks took longer than writing the rows. Django still cascades deletions, and the
composite indexes cover the lookups the single-column FK indexes would serve.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from fenji.web.customers.models import BusinessLine, Customer
from fenji.web.evaluations.fields import RowIdField
from fenji.web.policies.models import Policy, PolicyVersion


class RunStatus(models.TextChoices):
    RUNNING = "running", "运行中 running"
    PUBLISHED = "published", "已发布 published"
    SUPERSEDED = "superseded", "已被替代 superseded"
    FAILED = "failed", "失败 failed"
    ABANDONED = "abandoned", "已中断 abandoned"


class EvaluationRun(models.Model):
    policy = models.ForeignKey(Policy, on_delete=models.CASCADE, related_name="runs")
    policy_version = models.ForeignKey(PolicyVersion, on_delete=models.PROTECT, related_name="runs")
    as_of = models.DateField(db_index=True)
    status = models.CharField(max_length=16, choices=RunStatus.choices, default=RunStatus.RUNNING)
    progress = models.FloatField(default=0.0)
    stage = models.CharField(max_length=64, blank=True)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    pid = models.IntegerField(null=True, blank=True)
    timings = models.JSONField(default=dict, blank=True)
    counts = models.JSONField(default=dict, blank=True)
    summary = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    #: Language of the explanations (``why``) stored with the results.
    lang = models.CharField(max_length=8, default="zh")
    #: The run this one replaced when it was published: the default baseline of its diff.
    previous = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    published_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-as_of", "-id"]
        indexes = [models.Index(fields=["policy", "status"])]

    def __str__(self) -> str:
        return f"{self.policy.name} @ {self.as_of} #{self.pk} ({self.status})"


class Publication(models.Model):
    """The published run of a policy: the one pointer readers follow."""

    policy = models.OneToOneField(Policy, on_delete=models.CASCADE, related_name="publication")
    run = models.ForeignKey(EvaluationRun, on_delete=models.PROTECT, related_name="+")
    published_at = models.DateTimeField(auto_now=True)


class RunResult(models.Model):
    """One label of one customer (and line) in one run, with its explanation.

    ``computed_label`` is what the policy gave; ``label`` what applies after hysteresis and
    overrides. Both are kept so that every change can be explained."""

    id = RowIdField(primary_key=True)
    run = models.ForeignKey(
        EvaluationRun,
        on_delete=models.CASCADE,
        related_name="results",
        db_constraint=False,
        db_index=False,
    )
    customer = models.ForeignKey(
        Customer,
        on_delete=models.CASCADE,
        related_name="results",
        db_constraint=False,
        db_index=False,
    )
    business_line = models.ForeignKey(
        BusinessLine,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        db_constraint=False,
        db_index=False,
    )
    dimension = models.CharField(max_length=63)
    label = models.CharField(max_length=64, null=True, blank=True)
    computed_label = models.CharField(max_length=64, null=True, blank=True)
    #: The label after hysteresis and before overrides: what the next run's hysteresis
    #: compares with (an override must not reset or feed the count of runs below).
    base_label = models.CharField(max_length=64, null=True, blank=True)
    #: Consecutive runs, this one included, that computed a label below ``base_label``
    #: while it was held; 0 when the computed label applies.
    held_runs = models.PositiveIntegerField(default=0)
    score = models.DecimalField(max_digits=24, decimal_places=6, null=True, blank=True)
    why = models.TextField(blank=True)
    next_label = models.CharField(max_length=64, blank=True)
    gap = models.TextField(blank=True)
    source = models.CharField(
        max_length=16, default="computed", help_text="computed, held, override"
    )
    override = models.ForeignKey(
        "Override",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )

    class Meta:
        # Both indexes lead with the run: a run's rows are appended to them (written in
        # customer order), so writing a run costs the same however many runs are kept. A
        # customer's history seeks ``(run, customer)`` once per run of the policy.
        indexes = [
            models.Index(fields=["run", "dimension", "label"]),
            models.Index(fields=["run", "customer"]),
        ]


class Override(models.Model):
    """A manual label (人工调整) with a reason and an expiry, on top of the computed one."""

    policy = models.ForeignKey(Policy, on_delete=models.CASCADE, related_name="overrides")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="overrides")
    business_line = models.ForeignKey(BusinessLine, null=True, blank=True, on_delete=models.CASCADE)
    dimension = models.CharField(max_length=63)
    label = models.CharField(max_length=64)
    reason = models.TextField()
    expires_on = models.DateField(null=True, blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]


class RunCustomer(models.Model):
    """One customer (and line) of a run: the revenue the policy's summary names and the values
    of the policy's metrics that the labels were computed from.

    Kept once per customer rather than once per label, so the dashboard's revenue shares and
    Pareto curve, and the customer page's metrics and their history, are read without
    re-evaluating anything. ``metrics`` maps metric names to exact values as text."""

    id = RowIdField(primary_key=True)
    run = models.ForeignKey(
        EvaluationRun,
        on_delete=models.CASCADE,
        related_name="customer_rows",
        db_constraint=False,
        db_index=False,
    )
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="+", db_constraint=False, db_index=False
    )
    business_line = models.ForeignKey(
        BusinessLine,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    revenue = models.DecimalField(max_digits=24, decimal_places=6, null=True, blank=True)
    metrics = models.JSONField(default=dict, blank=True)

    class Meta:
        # Led by the run, for the reason given on :class:`RunResult`.
        indexes = [models.Index(fields=["run", "customer"])]
