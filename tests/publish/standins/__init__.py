"""Stand-ins for the social platforms syndication posts to (tests only)."""
