# -*- coding: utf-8 -*-
# Copyright (c) pinotops.pinot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The shape of a controller answer, and the differences between two shapes.

Used by tests/harness/record_transcripts.py (live answers) and test_fake_follows_live.py (the fake's).
A shape keeps what the modules rely on and drops the values: objects keep their keys, objects keyed by
data (instance ids, segment names, job ids) become {"<key>": shape of one value}, lists the shape of
their first item, scalars their JSON type; an answer that is not JSON is "text".
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

import json
import re

# keys that are data, not field names: instance ids, segment names, job ids
DATA_KEY = re.compile(r"^(Server|Broker|Controller|Minion)_|__|^events(Offline)?_|^[0-9a-f]{8}-[0-9a-f]{4}-")
MAP = "<key>"


def shape(value):
    """The shape of a parsed JSON value (or "text" for a body that was not JSON)."""
    if isinstance(value, dict):
        if value and all(DATA_KEY.search(key) for key in value):
            return {MAP: shape(next(iter(value.values())))}
        return dict((key, shape(item)) for key, item in value.items())
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if value is None:
        return "null"
    return "string"


def response_shape(text):
    """Shape of an HTTP body: of its JSON, or "text" when it is not JSON (an empty body is "empty")."""
    if not text:
        return "empty"
    try:
        return shape(json.loads(text))
    except ValueError:
        return "text"


def differences(live, fake, where="$", depth=0):
    """Where the fake's shape differs from the live one: ["$.a.b: live string, fake number", ...].

    Every field the fake has must be live's, of live's type. A field only live has counts at the top
    level of the answer (or of the objects of a top-level list): deeper, the fake may leave out what no
    module reads (a table config has dozens of fields). An empty list or object on either side matches
    any list or object (no item to compare), and null matches anything (Pinot leaves optional fields null).
    """
    if live == fake or "null" in (live, fake):
        return []
    if isinstance(live, list) and isinstance(fake, list):
        return differences(live[0], fake[0], where + "[]", depth) if live and fake else []
    if isinstance(live, dict) and isinstance(fake, dict):
        if not live or not fake:
            return []
        if MAP in live or MAP in fake:
            return differences(live.get(MAP, next(iter(live.values()))), fake.get(MAP, next(iter(fake.values()))),
                               where + "." + MAP, depth + 1)
        found = []
        for key in sorted(set(live) | set(fake)):
            if key not in fake:
                if depth == 0:
                    found.append("%s.%s: only live has it" % (where, key))
            elif key not in live:
                found.append("%s.%s: only the fake has it" % (where, key))
            else:
                found.extend(differences(live[key], fake[key], where + "." + key, depth + 1))
        return found
    return ["%s: live %s, fake %s" % (where, describe(live), describe(fake))]


def describe(value):
    """A short name of a shape for a message."""
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "list"
    return value
