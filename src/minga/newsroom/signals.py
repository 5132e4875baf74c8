"""Signals of the newsroom (sent after the change is committed)."""

from __future__ import annotations

from django.dispatch import Signal

# A story's workflow state changed: send(sender, key=<story key>).
story_changed = Signal()
