import sys

from msagent.cli import main

sys.exit(main())
