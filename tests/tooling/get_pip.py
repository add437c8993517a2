"""Stand-in for get-pip.py, which ansible-test downloads and these machines cannot.

ansible-test runs ``python get_pip.py [pip args] <requirements>`` inside a
virtualenv created without pip. Seed pip from the standard library's bundled
wheel, then install what was asked, minus the two get-pip-only flags.
"""

import subprocess
import sys

GET_PIP_ONLY_FLAGS = ("--no-setuptools", "--no-wheel")


def main():
    subprocess.check_call([sys.executable, "-m", "ensurepip", "--default-pip"])
    args = [arg for arg in sys.argv[1:] if arg not in GET_PIP_ONLY_FLAGS]
    if args:
        subprocess.check_call([sys.executable, "-m", "pip", "install"] + args)


if __name__ == "__main__":
    main()
