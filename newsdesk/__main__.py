"""``python -m newsdesk``: the ``newsdesk`` command, for when its script is not on the PATH."""

import sys

from newsdesk.cli import main

if __name__ == "__main__":
    sys.exit(main())
