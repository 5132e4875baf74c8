from __future__ import annotations

from django.db import models


class MediaStatus(models.TextChoices):
    UPLOADING = "uploading"
    PROCESSING = "processing"
    READY = "ready"
    FAILED = "failed"


class Media(models.Model):
    """A photo, video or audio file on its way from a reporter's phone to publication.

    ``result`` holds what the pipeline made: the public file and its sizes (as
    Blossom descriptors), the private original's hash and the NIP-94 event id.
    """

    id = models.CharField(max_length=32, primary_key=True)  # the tus upload id
    owner = models.CharField(max_length=64, db_index=True)
    status = models.CharField(max_length=12, choices=MediaStatus.choices, default="uploading")
    blur_faces = models.BooleanField(default=False)
    alt = models.TextField(blank=True)
    caption = models.TextField(blank=True)
    filename = models.CharField(max_length=255, blank=True)
    progress = models.FloatField(default=0.0)
    result = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "minga_media"

    def __str__(self) -> str:
        return f"{self.filename or self.id} ({self.status})"
