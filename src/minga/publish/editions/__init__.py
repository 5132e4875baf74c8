"""Offline editions: one self-contained HTML file of the latest days, and a ZIM
file of the whole archive for Kiwix readers."""
