"""Pages of the newsroom: sign-in, the reporter's app, the desk, people."""
