"""``python -m wasmlite.wast FILE...``: the same as ``wasmlite wast FILE...``."""

import sys

from . import main

sys.exit(main())
