"""Blobs: a Blossom server (BUD-01/02/06/11/12) over a content-addressed folder."""
