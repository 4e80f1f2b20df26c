#!/usr/bin/python3
"""../shared/oracles/check.py, except where json.loads cannot make the expected value.

Python 3.11 refuses to parse an integer of more than 4,300 digits (sys.set_int_max_str_digits),
so check.py stops with a traceback on such a JSON file. That is the parser's limit, not a verdict
on the B-FAST bytes: this prints 'skip: ...' and exits 3. Anything else runs check.py unchanged.
Usage: check_limits.py JSON_FILE BFAST_FILE
"""
import json
import os
import sys

SKIP_EXIT = 3


def main():
    shared = os.environ.get("BFAST_SHARED_DIR") or os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "shared")
    try:
        with open(sys.argv[1], "rb") as f:
            json.loads(f.read())
    except ValueError as e:
        if "integer string conversion" in str(e):
            print(f"skip: json.loads refuses the JSON: {str(e)[:80]}")
            sys.exit(SKIP_EXIT)
    check = os.path.join(shared, "oracles", "check.py")
    os.execv(sys.executable, [sys.executable, check] + sys.argv[1:])


main()
