import sys

from apf.main import main

sys.exit(main())
