from __future__ import annotations

from django.db import models


class Blob(models.Model):
    """A stored blob, named by the sha256 of its bytes."""

    sha256 = models.CharField(max_length=64, primary_key=True)
    size = models.BigIntegerField()
    type = models.CharField(max_length=255, default="application/octet-stream")
    uploaded = models.BigIntegerField()
    # Originals of photos and videos: served only to members (never published).
    private = models.BooleanField(default=False)

    class Meta:
        db_table = "minga_blob"

    def __str__(self) -> str:
        return f"{self.sha256[:12]}… ({self.size} bytes)"


class BlobOwner(models.Model):
    """Who uploaded a blob; it stays while one owner remains (BUD-12 delete)."""

    blob = models.ForeignKey(Blob, on_delete=models.CASCADE, related_name="owners")
    pubkey = models.CharField(max_length=64)
    uploaded = models.BigIntegerField()

    class Meta:
        db_table = "minga_blob_owner"
        constraints = [
            models.UniqueConstraint(fields=["blob", "pubkey"], name="blob_owner_once"),
        ]
        indexes = [models.Index(fields=["pubkey", "-uploaded"], name="blob_owner_list")]

    def __str__(self) -> str:
        return f"{self.pubkey[:12]}… owns {self.blob_id}"


class Upload(models.Model):
    """A resumable upload (tus 1.0) in progress; its bytes are in <data_dir>/uploads/<id>."""

    id = models.CharField(max_length=32, primary_key=True)
    owner = models.CharField(max_length=64)
    length = models.BigIntegerField()
    metadata = models.JSONField(default=dict)
    created = models.DateTimeField(auto_now_add=True)
    expires = models.DateTimeField()
    finished = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "minga_upload"

    def __str__(self) -> str:
        return f"upload {self.id} ({self.length} bytes)"
