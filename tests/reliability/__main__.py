"""``python -m tests.reliability [--write]``: the figures the documents quote (see report.py).

The test modules import their siblings as top-level packages (``e2e.helpers``), as pytest's
rootdir-relative import mode provides; put ``tests/`` on the path the same way before importing.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from reliability.report import main

raise SystemExit(main())
