from player.cli import cli

cli(prog_name="guided")
