"""Tests of the test command's own summary: what failed is named, and the check count is as documented.

Run by the units stage (tests/tooling/run_tests.sh) with the dev virtualenv's pytest.
"""

import importlib.util
import pathlib
import xml.etree.ElementTree as ET

import pytest

HERE = pathlib.Path(__file__).resolve().parent


def load(name):
    spec = importlib.util.spec_from_file_location(name, HERE / (name + ".py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


junit_summary = load("junit_summary")
run_system = load("run_system")

PYTEST_JUNIT = """<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest" errors="0" failures="1" skipped="1" tests="4">
<testcase classname="tests.system.test_faults" name="test_killed_then_run_again[after the scale]"><failure message="x"/></testcase>
<testcase classname="tests.system.test_faults" name="test_ok"/>
<testcase classname="tests.unit.plugins.test_x.TestThing" name="test_skip"><skipped/></testcase>
<testcase classname="tests.system.test_bad_input" name="test_ok"/>
</testsuite></testsuites>
"""


def write_results(path, *rows):
    path.write_text("".join("\t".join(str(cell) for cell in row) + "\n" for row in rows), encoding="utf-8")


@pytest.fixture
def junit_dir(tmp_path):
    directory = tmp_path / "junit"
    directory.mkdir()
    return directory


def test_a_failed_stage_names_the_failed_tests_and_targets(tmp_path, junit_dir):
    (junit_dir / "system-pytest.xml").write_text(PYTEST_JUNIT, encoding="utf-8")
    run_system.write_targets_junit(junit_dir / "system-integration.xml", ["pinot_instance", "pinot_table_rebalance"],
                                   ["pinot_table_rebalance"], 120)
    write_results(tmp_path / "results.tsv", ("PASS", 40, "units (ansible-core 2.19)", "-", "-"),
                  ("FAIL", 851, "system", "system-", "-"))
    stages, _files, closing = junit_summary.summarize(junit_summary.read_results(tmp_path / "results.tsv"), junit_dir)
    assert stages[0] == "PASS  units (ansible-core 2.19) (40 s)"
    assert stages[1] == ("FAIL  system (851 s): tests/integration/targets/pinot_table_rebalance; "
                         "tests/system/test_faults.py::test_killed_then_run_again[after the scale]")
    # 6 cases: 2 failed, 1 skipped; the units stage has no JUnit file here, so it is one check
    assert closing == "checks: 4 passed, 2 failed, 1 skipped"


def test_a_stage_without_junit_counts_once_and_names_its_notes(tmp_path, junit_dir):
    notes = tmp_path / "notes"
    notes.write_text("sanity: pylint\nsanity: shellcheck\n", encoding="utf-8")
    write_results(tmp_path / "results.tsv", ("FAIL", 300, "sanity (ansible-core 2.19)", "-", notes),
                  ("PASS", 20, "lint", "-", "-"))
    stages, _files, closing = junit_summary.summarize(junit_summary.read_results(tmp_path / "results.tsv"), junit_dir)
    assert stages[0] == "FAIL  sanity (ansible-core 2.19) (300 s): sanity: pylint; sanity: shellcheck"
    assert closing == "checks: 1 passed, 1 failed"


def test_a_stage_that_failed_before_its_tests_is_one_failed_check(tmp_path, junit_dir):
    notes = tmp_path / "notes"
    notes.write_text("the Pinot cluster did not start (logs in /x)\n", encoding="utf-8")
    write_results(tmp_path / "results.tsv", ("FAIL", 90, "system", "system-", notes))
    stages, _files, closing = junit_summary.summarize(junit_summary.read_results(tmp_path / "results.tsv"), junit_dir)
    assert stages == ["FAIL  system (90 s): the Pinot cluster did not start (logs in /x)"]
    assert closing == "checks: 0 passed, 1 failed"


def test_unit_test_ids_keep_their_class():
    case = ET.fromstring('<testcase classname="tests.unit.plugins.test_x.TestThing" name="test_y"/>')
    assert junit_summary.test_id(case) == "tests/unit/plugins/test_x.py::TestThing::test_y"


def test_failed_targets_are_read_from_ansible_test_output():
    output = ("Running pinot_table_rebalance integration test role\n...\n"
              "ERROR: The 2 integration test(s) listed below (out of 6) failed. See error output above for details:\n"
              "pinot_instance\npinot_table_rebalance\nWARNING: Reviewing previous 1 warning(s):\n")
    assert run_system.failed_targets(output, ["pinot_instance", "pinot_table_rebalance", "pinot_periodic_task"]) == [
        "pinot_instance", "pinot_table_rebalance"]
    assert run_system.failed_targets("all good\n", ["pinot_instance"]) == []


ANSIBLE_TEST_OUTPUT = """Running pinot_instance integration test role
TASK [pinot_instance : Drop the live server] ***
fatal: [testhost]: FAILED! => {"changed": false, "msg": "refused"}
...ignoring
TASK [pinot_instance : Rebalance the tables (drain the stopped server)] ***
failed: [testhost] (item=events_REALTIME) => {"json": {"status": "FAILED"}}
TASK [pinot_instance : Re-enable the server if a step left it disabled] ***
fatal: [testhost]: FAILED! => {"msg": "later, in always"}
Running pinot_instance_info integration test role
TASK [pinot_instance_info : List] ***
fatal: [testhost]: FAILED! => {"msg": "other target"}
"""


def test_first_failure_skips_ignored_errors_and_stays_in_its_target():
    assert run_system.first_failure(ANSIBLE_TEST_OUTPUT, "pinot_instance") == (
        'TASK [pinot_instance : Rebalance the tables (drain the stopped server)] failed: [testhost] '
        '(item=events_REALTIME) => {"json": {"status": "FAILED"}}')
    assert run_system.first_failure(ANSIBLE_TEST_OUTPUT, "pinot_instance_info") == (
        'TASK [pinot_instance_info : List] fatal: [testhost]: FAILED! => {"msg": "other target"}')
    assert run_system.first_failure(ANSIBLE_TEST_OUTPUT, "pinot_periodic_task") is None
