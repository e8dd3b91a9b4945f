"""``python -m affluent.service …`` runs the ``affluent`` command (handy for subprocesses)."""

from affluent.cli import main

main()
