"""``python -m starter.cli``: the same entry point as the ``partnerflow`` console script."""

from starter.cli.root import main

main()
