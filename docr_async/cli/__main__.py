"""``python -m docr_async.cli``: the same as the ``docr`` console script."""

from . import main

main()
