import sys

from emonb.cli import main

sys.exit(main())
