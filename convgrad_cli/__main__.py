import os
import sys

# python -m puts the working directory first on sys.path: a user's xml.py there
# must not stand in for the standard library's (nor a numpy.py for NumPy)
if sys.path and sys.path[0] in ("", os.getcwd()):
    sys.path.append(sys.path.pop(0))

from .cli import run  # noqa: E402

if __name__ == "__main__":
    run()
