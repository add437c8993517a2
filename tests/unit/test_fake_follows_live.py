# -*- coding: utf-8 -*-
# Copyright (c) pinotops.pinot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The fake controller answers like the live one: every request of tests/unit/transcripts (recorded from
live controllers by tests/harness/record_transcripts.py) is replayed, in order, against a fake set up like
the harness's cluster, and the status and the answer's shape must be the recorded ones.

A difference already known and not fixed yet is listed in KNOWN with what it is (strict xfail: when the
fake is fixed, the entry must go).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

import json
import os

import pytest
import requests

from ansible_collections.pinotops.pinot.tests.unit.fake_controller import FakePinot, server_id
from ansible_collections.pinotops.pinot.tests.unit.fake_rebalance import RebalanceSim
from ansible_collections.pinotops.pinot.tests.unit.transcript_shape import differences, response_shape

HERE = os.path.dirname(os.path.abspath(__file__))
TRANSCRIPTS = os.path.join(HERE, "transcripts")
IDS = {"controller": "Controller_localhost_9000", "broker": "Broker_localhost_8099"}

# (transcript, call) -> what differs and why it is not fixed yet. Empty: every difference this test found (issue 15:
# periodic task routes, instanceAssignment, 1.5.1's 404 for an unknown table and shutdownInProgress, 0.11's table
# jobs) was fixed in the fake.
KNOWN = {}


def transcripts():
    """[(file name, document)] of the recorded transcripts."""
    found = []
    for name in sorted(os.listdir(TRANSCRIPTS)):
        if name.endswith(".json"):
            with open(os.path.join(TRANSCRIPTS, name), encoding="utf-8") as handle:
                found.append((name, json.load(handle)))
    return found


def fake_like(version):
    """A fake shaped like the harness's cluster of `version`: 4 servers, eventsOffline (4 segments) and events
    (5 partitions), replication 2."""
    release = tuple(int(part) for part in version.split("."))

    def newer(first):
        return release >= first

    # missing_table_404: 0.11 answers 200 {}, 1.5.1 404; the release in between that changed it was not checked
    fake = FakePinot(drop_validation=newer((1, 0)), tag_validation=newer((1, 0)), live_instances=newer((1, 2)),
                     state_put=newer((1, 0)), periodic_task_post=newer((1, 4)), missing_table_404=newer((1, 0)),
                     shutdown_flag=newer((1, 5)))
    servers = [server_id(i) for i in range(4)]
    offline = dict(("eventsOffline_%d" % s, dict((servers[(s + r) % 4], "ONLINE") for r in range(2))) for s in range(4))
    realtime = dict(("events__%d__0__20260101T0000Z" % p, dict((servers[(p + r) % 4], "CONSUMING") for r in range(2)))
                    for p in range(5))
    fake.add_table("eventsOffline_OFFLINE", offline)
    fake.add_table("events_REALTIME", realtime)
    sim_version = "0.11"
    for line, first in (("1.0", (1, 0)), ("1.1", (1, 1)), ("1.4", (1, 4))):
        if newer(first):
            sim_version = line
    RebalanceSim(fake, sim_version, polls=1)
    return fake


def replay(fake, entries):
    """Send every recorded request to the fake; return [(entry, status, shape)]."""
    ids = dict(IDS, job="00000000-0000-0000-0000-000000000000")
    session = requests.Session()
    session.headers["Accept"] = "application/json"  # as the client sends it (Pinot negotiates on it)
    answers = []
    for entry in entries:
        path, query = entry["path"], entry["query"]
        for key, value in ids.items():
            path, query = path.replace("{%s}" % key, value), query.replace("{%s}" % key, value)
        kwargs = {}
        if isinstance(entry["body"], (dict, list)):
            kwargs["json"] = entry["body"]
        elif entry["body"] is not None:
            kwargs.update(data=entry["body"], headers={"Content-Type": "text/plain"})
        response = session.request(entry["method"], fake.url + path + ("?" + query if query else ""), timeout=10, **kwargs)
        answer = response_shape(response.text)
        if entry["method"] == "POST" and isinstance(answer, dict) and "jobId" in answer:
            ids["job"] = response.json()["jobId"]
        answers.append((entry, response.status_code, answer))
    return answers


CASES = []
for _name, _document in transcripts():
    _fake = fake_like(_document["version"]).start()
    try:
        for _entry, _status, _shape in replay(_fake, _document["requests"]):
            CASES.append(pytest.param(_name, _entry, _status, _shape, id="%s: %s: %s %s" % (
                _name, _entry["call"], _entry["method"], _entry["path"])))
    finally:
        _fake.stop()


@pytest.mark.parametrize("name, entry, status, shape", CASES)
def test_fake_answers_like_live(name, entry, status, shape):
    found = []
    if status != entry["status"]:
        found.append("status: live %s, fake %s" % (entry["status"], status))
    found.extend(differences(entry["shape"], shape))
    known = KNOWN.get((name, entry["call"]))
    if known:
        assert found, "the fake now answers like live: remove KNOWN[%r]" % ((name, entry["call"]),)
        pytest.xfail(known)
    assert not found, "%s %s?%s: %s" % (entry["method"], entry["path"], entry["query"], "; ".join(found))


def test_transcripts_recorded():
    """The live transcripts are in the repository (re-record with tests/harness/record_transcripts.py)."""
    versions = sorted(document["version"] for _name, document in transcripts())
    assert "0.11.0" in versions and "1.5.1" in versions
