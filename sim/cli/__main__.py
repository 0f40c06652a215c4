"""``python -m sim.cli``: the ``aidflow`` console script."""

from sim.cli.application import main

main()
