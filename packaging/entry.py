"""The PyInstaller bundle's entry point: the same as ``python -m playground``."""

import sys

from playground.__main__ import main

if __name__ == "__main__":
    sys.exit(main())
