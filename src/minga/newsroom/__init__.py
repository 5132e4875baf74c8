"""Newsroom: the outlet, its roster of people and roles (more in later issues)."""
