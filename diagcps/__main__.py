"""``python -m diagcps`` runs the same command line as ``diagcps``."""

from diagcps.cli import run

if __name__ == "__main__":
    run()
