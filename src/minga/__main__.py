from minga.cli import cli

cli(prog_name="minga")
