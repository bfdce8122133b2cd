import sys

from phiacta.cli import main

sys.exit(main())
