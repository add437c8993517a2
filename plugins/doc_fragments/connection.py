# -*- coding: utf-8 -*-
# Copyright (c) pinotops.pinot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name


class ModuleDocFragment:
    """Connection options shared by every module (mirrors module_utils/common.py)."""

    DOCUMENTATION = r"""
options:
  controller_url:
    description:
      - Base URL of the Pinot controller, for example V(http://pinot-controller.pinot-quickstart.svc:9000).
      - A list of URLs names several controllers of one cluster; when one cannot be reached the next is tried.
      - If not set, the value of the E(PINOT_CONTROLLER_URL) environment variable is used (several URLs separated by commas).
    type: list
    elements: str
    required: true
  username:
    description:
      - User for HTTP basic authentication (Pinot's C(BasicAuthAccessControlFactory) or ZooKeeper-stored users).
      - If not set, the value of the E(PINOT_USERNAME) environment variable is used.
      - Mutually exclusive with O(token).
    type: str
  password:
    description:
      - Password for O(username).
      - If not set, the value of the E(PINOT_PASSWORD) environment variable is used.
    type: str
  token:
    description:
      - Value for the C(Authorization) header. A token that names its scheme (V(Basic dXNlcjpwYXNz), V(Bearer abc)) is sent as
        given; a bare token is sent as C(Bearer <token>).
      - If not set, the value of the E(PINOT_TOKEN) environment variable is used.
    type: str
  headers:
    description:
      - Extra HTTP headers sent with every request, for example a C(Database) header or one a proxy requires.
      - Put credentials in O(token) or O(password), which are kept out of logs; header values are not.
    type: dict
    default: {}
  validate_certs:
    description:
      - Verify the controller's TLS certificate. Set to V(false) only for test clusters.
      - If not set, the value of the E(PINOT_VALIDATE_CERTS) environment variable is used.
    type: bool
    default: true
  ca_path:
    description:
      - CA bundle (PEM) used to verify the controller's certificate.
      - If not set, the value of the E(PINOT_CA_PATH) environment variable is used.
    type: path
  client_cert:
    description:
      - Client certificate (PEM) for mutual TLS. May also hold the private key.
    type: path
  client_key:
    description:
      - Private key (PEM) of O(client_cert), when it is a separate file.
    type: path
  timeout:
    description:
      - Seconds to wait for each HTTP request to connect and for the controller to answer.
    type: float
    default: 30
  retries:
    description:
      - How many times connecting to a controller URL is tried again (a connection refused, a name that does not resolve,
        a connect timeout), with capped exponential backoff; nothing was sent then, so this holds for every request.
      - Also how many more rounds over the controller URLs a read or an idempotent write gets after a HTTP 502, 503 or
        504, or an answer that broke off, with capped exponential backoff and jitter.
      - A request that starts work (a rebalance, a periodic task run) is never sent twice, unless it provably never
        reached a controller; then it goes to the next URL of O(controller_url).
      - A controller URL that answered is asked first from then on.
    type: int
    default: 3
notes:
  - Requires the Python C(requests) library on the host that runs the module.
  - When the controller refuses the credentials (HTTP 401, or 403, which Pinot also answers to a wrong password), the
    message names the user and where each credential came from (an option or a C(PINOT_*) variable), never a password
    or token.
  - Which optional endpoints a controller has (they differ between Pinot versions) is learnt by reading its API listing
    (C(GET /swagger.json)) or other reads, never by sending a write to probe.
"""

    # For read-only modules: the action group plus check mode and diff mode as a reader has them.
    INFO_ATTRIBUTES = r"""
attributes:
  check_mode:
    support: full
    description: The module changes nothing, so it runs in check mode too.
  diff_mode:
    support: none
    description: The module changes nothing.
  action_group:
    description: Use C(group/pinotops.pinot.pinot) in C(module_defaults) to set the connection options once.
    support: full
    membership:
      - pinotops.pinot.pinot
"""

    ATTRIBUTES = r"""
attributes:
  action_group:
    description: Use C(group/pinotops.pinot.pinot) in C(module_defaults) to set the connection options once.
    support: full
    membership:
      - pinotops.pinot.pinot
"""
