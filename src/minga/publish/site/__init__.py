"""The outlet's static site: pages, feeds and sitemap from the catalogue."""
