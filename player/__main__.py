from player.cli import cli

if __name__ == "__main__":  # the speech worker is spawned, and spawn re-imports this module
    cli(prog_name="guided")
