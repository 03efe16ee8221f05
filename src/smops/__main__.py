import sys

from smops.cli import main

sys.exit(main())
