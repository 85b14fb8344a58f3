import pathlib
import sys

# tiny.py and tiny_actions.py are imported by name (import strings of the
# webhook action catalog need a real module path).
sys.path.insert(0, str(pathlib.Path(__file__).parent))
