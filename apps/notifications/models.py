from django.conf import settings
from django.db import models

from .kinds import TEXTS, Kind


class Notification(models.Model):
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=32, choices=Kind.choices)
    params = models.JSONField(default=dict, blank=True)
    url = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["recipient", "read_at", "-created_at"], name="notification_inbox_idx")]

    def __str__(self):
        return self.text

    @property
    def text(self) -> str:
        template = TEXTS.get(self.kind)
        if template is None:
            return str(self.kind)
        try:
            return str(template) % self.params
        except (KeyError, TypeError, ValueError):
            return str(Kind(self.kind).label)
