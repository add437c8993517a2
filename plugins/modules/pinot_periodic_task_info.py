#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) pinotops.pinot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

DOCUMENTATION = r"""
module: pinot_periodic_task_info
short_description: List the periodic tasks an Apache Pinot controller can run
version_added: 0.1.0
description:
  - Lists the controller periodic tasks that M(pinotops.pinot.pinot_periodic_task) can run now
    (C(GET /periodictask/names)), and whether the controller takes task properties.
  - Before Pinot 1.5 only the tasks that are scheduled (interval above 0) are listed and runnable.
  - Read-only; runs the same in check mode.
author:
  - pinotops maintainers (@pinotops)
extends_documentation_fragment:
  - pinotops.pinot.connection
  - pinotops.pinot.connection.INFO_ATTRIBUTES
options: {}
seealso:
  - module: pinotops.pinot.pinot_periodic_task
"""

EXAMPLES = r"""
- name: Which periodic tasks can this controller run?
  pinotops.pinot.pinot_periodic_task_info:
    controller_url: http://pinot-controller.pinot-quickstart.svc:9000
  register: tasks

- name: Run the segment relocator only where the controller has it
  pinotops.pinot.pinot_periodic_task:
    controller_url: http://pinot-controller.pinot-quickstart.svc:9000
    name: SegmentRelocator
  when: "'SegmentRelocator' in tasks.names"
"""

RETURN = r"""
names:
  description: The periodic tasks the controller can run, in the order it lists them.
  returned: always
  type: list
  elements: str
  sample: [RetentionManager, OfflineSegmentIntervalChecker, RealtimeSegmentValidationManager,
           BrokerResourceValidationManager, SegmentStatusChecker, SegmentRelocator, TaskMetricsEmitter]
properties_supported:
  description:
    - Whether the controller takes task properties (C(POST /periodictask/run), Pinot 1.4 and newer), that is whether
      O(pinotops.pinot.pinot_periodic_task#module:properties) can be used.
    - Read from the controller's API listing (C(GET /swagger.json)), so nothing is run or probed with a write.
    - V(null) when that listing could not be read (a proxy in front of the controller may hide it).
  returned: always
  type: bool
  sample: false
"""

from ansible_collections.pinotops.pinot.plugins.module_utils.common import PinotModule
from ansible_collections.pinotops.pinot.plugins.module_utils.errors import PinotError


def main():
    module = PinotModule(argument_spec={}, supports_check_mode=True)
    client = module.client
    try:
        names = client.periodic_task_names()
    except PinotError as exc:
        module.fail_from_error(exc, msg="Could not list the periodic tasks")
    try:
        # Read from the controller's API listing (GET /swagger.json): an _info module sends no write, not even a probe.
        properties_supported = client.has_periodic_task_post()
    except PinotError as exc:
        module.fail_from_error(exc, msg="Could not tell whether the controller takes task properties")
    module.exit_json(changed=False, names=names, properties_supported=properties_supported)


if __name__ == "__main__":
    main()
