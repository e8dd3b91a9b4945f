"""The template is not installed in the workspace: put its source on the import path."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "src"))
