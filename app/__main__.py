"""``python -m app``: run CLIPDraw Studio."""

import sys

from app.main import main

sys.exit(main())
