"""Print the summary of the test command: one line per stage naming what failed, then the closing line.

Usage: junit_summary.py RESULTS JUNIT_DIR

RESULTS has one tab-separated line per stage, written by run_tests.sh as the stage ends:
    PASS|FAIL  seconds  stage name  JUnit prefix (or -)  notes file (or -)
The stage's JUnit files are JUNIT_DIR/<prefix>*.xml; its notes file names, one a line, what failed that is no test
(a sanity test, a command, "the Pinot cluster did not start").

The closing line is `checks: N passed, N failed[, N skipped]`:
- every test case in a stage's JUnit files counts once (unit tests, integration targets, system tests);
- a stage without JUnit files (sanity, lint, docs, build) counts as one check;
- a stage that failed without a failed test case (a cluster that did not start) counts as one more failed check.
"""

import pathlib
import sys
import xml.etree.ElementTree as ET


def test_id(case):
    """A test case's id as a person would type it: pytest's node id, or the integration target's path."""
    path, classname, name = case.get("file") or "", case.get("classname") or "", case.get("name") or ""
    if path and not path.endswith(".py"):
        return path  # written by run_system.py for an integration target
    parts = [part for part in classname.split(".") if part]
    owner = [parts.pop()] if parts and parts[-1][:1].isupper() else []  # a test class
    return "::".join((["/".join(parts) + ".py"] if parts else []) + owner + [name])


def read_junit(path):
    """(tests, failed, skipped, [ids of failed cases]) of one JUnit file."""
    tests = failed = skipped = 0
    failed_ids = []
    for suite in ET.parse(path).getroot().iter("testsuite"):
        tests += int(suite.get("tests", 0))
        failed += int(suite.get("failures", 0)) + int(suite.get("errors", 0))
        skipped += int(suite.get("skipped", 0))
        failed_ids += [test_id(case) for case in suite.iter("testcase")
                       if case.find("failure") is not None or case.find("error") is not None]
    return tests, failed, skipped, failed_ids


def read_results(path):
    """The stage lines of RESULTS as dicts."""
    stages = []
    for line in pathlib.Path(path).read_text(encoding="utf-8").splitlines():
        if line.strip():
            status, seconds, name, prefix, notes = line.split("\t")
            stages.append({"status": status, "seconds": int(seconds), "name": name,
                           "prefix": None if prefix == "-" else prefix, "notes": None if notes == "-" else notes})
    return stages


def summarize(stages, junit_dir):
    """(stage lines, per-file lines, closing line)."""
    stage_lines, file_lines = [], []
    passed = failed = skipped = 0
    for stage in stages:
        files = sorted(pathlib.Path(junit_dir).glob(stage["prefix"] + "*.xml")) if stage["prefix"] else []
        names = []
        stage_failed_cases = 0
        for path in files:
            tests, failures, skips, ids = read_junit(path)
            file_lines.append("%s: %d tests, %d failed, %d skipped" % (path.stem, tests, failures, skips))
            passed += tests - failures - skips
            failed += failures
            skipped += skips
            stage_failed_cases += failures
            names += ids
        notes_path = pathlib.Path(stage["notes"]) if stage["notes"] else None
        if notes_path and notes_path.is_file():
            names += [line.strip() for line in notes_path.read_text(encoding="utf-8").splitlines() if line.strip()]
        if not files:
            passed += stage["status"] == "PASS"
            failed += stage["status"] == "FAIL"
        elif stage["status"] == "FAIL" and not stage_failed_cases:
            failed += 1
        line = "%s  %s (%d s)" % (stage["status"], stage["name"], stage["seconds"])
        if stage["status"] == "FAIL":
            line += ": " + ("; ".join(names) if names else "see its output above")
        stage_lines.append(line)
    closing = "checks: %d passed, %d failed" % (passed, failed)
    if skipped:
        closing += ", %d skipped" % skipped
    return stage_lines, file_lines, closing


def main():
    stage_lines, file_lines, closing = summarize(read_results(sys.argv[1]), sys.argv[2])
    print("\n".join(stage_lines + file_lines + [closing]))


if __name__ == "__main__":
    main()
