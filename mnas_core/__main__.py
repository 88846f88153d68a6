import sys

from mnas_core.cli import main

sys.exit(main())
