"""``python -m wasmlite.cli``: the same as the ``wasmlite`` command."""

import sys

from .main import main

sys.exit(main())
