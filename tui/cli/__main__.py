"""``python -m tui.cli``: the same as the ``labtui`` console script."""

import sys

from .main import main

sys.exit(main())
