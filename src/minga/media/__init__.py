"""Media safety: metadata stripped, faces blurred on request, originals kept private."""
