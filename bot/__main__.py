import sys

from bot.console import main

sys.exit(main())
