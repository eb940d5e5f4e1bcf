from django.db import models


class QueuedTask(models.Model):
    """A Celery task owed by a committed transaction (apps/core/outbox.py): written in the same
    transaction as the change that owes it, deleted once the broker has the task."""

    task = models.CharField(max_length=200)
    args = models.JSONField(default=list)
    kwargs = models.JSONField(default=dict)
    # Not to run before this (a retry's backoff); null: at once.
    eta = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return f"{self.task}{tuple(self.args)}"
