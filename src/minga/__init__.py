"""minga: a newsroom node for reporting through a media blackout."""

__version__ = "0.1.0"
