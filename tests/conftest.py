import os
import sys

# tests/reference.py and tests/strategies.py are helpers, not packages
sys.path.insert(0, os.path.dirname(__file__))
