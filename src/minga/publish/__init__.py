"""Publishing everywhere: the static site, feeds, the signed NIP-5A manifest,
offline editions, deploy targets and syndication channels (DESIGN.md §6)."""
