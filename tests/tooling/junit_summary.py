"""Print the closing line of the test command from the pytest JUnit files and the stage count.

Usage: junit_summary.py JUNIT_DIR STAGES STAGES_FAILED

Every pytest test counts once; every stage without its own test count (sanity,
lint, docs, build) counts as one check.
"""

import pathlib
import sys
import xml.etree.ElementTree as ET


def main():
    junit_dir, stages, stages_failed = pathlib.Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    tests = failures = skipped = 0
    for path in sorted(junit_dir.glob("*.xml")):
        root = ET.parse(path).getroot()
        for suite in root.iter("testsuite"):
            suite_tests = int(suite.get("tests", 0))
            suite_failed = int(suite.get("failures", 0)) + int(suite.get("errors", 0))
            suite_skipped = int(suite.get("skipped", 0))
            print("%s: %d tests, %d failed, %d skipped" % (path.stem, suite_tests, suite_failed, suite_skipped))
            tests += suite_tests
            failures += suite_failed
            skipped += suite_skipped
    passed = tests - failures - skipped + (stages - stages_failed)
    failed = failures + stages_failed
    line = "%d passed, %d failed" % (passed, failed)
    if skipped:
        line += ", %d skipped" % skipped
    print("checks: " + line)


if __name__ == "__main__":
    main()
