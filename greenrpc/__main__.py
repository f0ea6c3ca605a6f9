"""python -m greenrpc: the greenrpc command."""
from gevent import monkey; monkey.patch_all()  # noqa: E402,E702 - first: an entry point

import sys

from .cli import main

sys.exit(main())
