import sys

from sandbox.engine.cli import main

sys.exit(main())
