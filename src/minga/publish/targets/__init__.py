"""Deploy targets: where a built site is copied (one module per kind of target)."""
