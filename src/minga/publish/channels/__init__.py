"""Syndication channels: Mastodon, Telegram, Bluesky, the e-mail newsletter."""
