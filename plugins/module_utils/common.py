# -*- coding: utf-8 -*-
# Copyright (c) pinotops.pinot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What every pinotops.pinot module shares: connection options and the module wrapper."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

import copy
import traceback

from ansible.module_utils.basic import AnsibleModule, env_fallback, missing_required_lib

from ansible_collections.pinotops.pinot.plugins.module_utils.client import PinotClient
from ansible_collections.pinotops.pinot.plugins.module_utils.credentials import CREDENTIAL_ENV
from ansible_collections.pinotops.pinot.plugins.module_utils.errors import PinotError
from ansible_collections.pinotops.pinot.plugins.module_utils.transport import REQUESTS_IMPORT_ERROR

# Mirrors plugins/doc_fragments/connection.py; keep the two in step.
CONNECTION_ARGUMENT_SPEC = dict(
    controller_url=dict(type="list", elements="str", required=True, fallback=(env_fallback, ["PINOT_CONTROLLER_URL"])),
    username=dict(type="str", fallback=(env_fallback, ["PINOT_USERNAME"])),
    password=dict(type="str", no_log=True, fallback=(env_fallback, ["PINOT_PASSWORD"])),
    token=dict(type="str", no_log=True, fallback=(env_fallback, ["PINOT_TOKEN"])),
    headers=dict(type="dict", default={}),
    validate_certs=dict(type="bool", default=True, fallback=(env_fallback, ["PINOT_VALIDATE_CERTS"])),
    ca_path=dict(type="path", fallback=(env_fallback, ["PINOT_CA_PATH"])),
    client_cert=dict(type="path"),
    client_key=dict(type="path", no_log=False),
    timeout=dict(type="float", default=30.0),
    retries=dict(type="int", default=3),
)
CONNECTION_MUTUALLY_EXCLUSIVE = [("token", "username")]
CONNECTION_REQUIRED_TOGETHER = [("username", "password")]
CONNECTION_REQUIRED_BY = {"client_key": "client_cert"}


def pinot_argument_spec(**module_options):
    """The connection options plus a module's own options."""
    spec = copy.deepcopy(CONNECTION_ARGUMENT_SPEC)
    spec.update(module_options)
    return spec


def error_traceback(exc):
    """The exception's own traceback as text, with the error it was raised from (a requests error, for example).

    Taken from the exception, not from sys.exc_info(), so it is right outside the except block too (a failure a worker
    thread recorded and the module reports later).
    """
    return "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))


class PinotModule(AnsibleModule):
    """AnsibleModule with the connection options and a ready PinotClient as `self.client`."""

    def __init__(self, argument_spec, mutually_exclusive=None, required_together=None, required_by=None, **kwargs):
        required_by_all = dict(CONNECTION_REQUIRED_BY)
        required_by_all.update(required_by or {})
        super(PinotModule, self).__init__(
            argument_spec=pinot_argument_spec(**argument_spec),
            mutually_exclusive=CONNECTION_MUTUALLY_EXCLUSIVE + list(mutually_exclusive or []),
            required_together=CONNECTION_REQUIRED_TOGETHER + list(required_together or []),
            required_by=required_by_all,
            **kwargs
        )
        if REQUESTS_IMPORT_ERROR:
            self.fail_json(msg=missing_required_lib("requests"), exception=REQUESTS_IMPORT_ERROR)
        if self.params["timeout"] <= 0:
            self.fail_json(msg="timeout must be more than 0 seconds, got %s" % self.params["timeout"])
        if self.params["retries"] < 0:
            self.fail_json(msg="retries must be 0 or more, got %s" % self.params["retries"])
        params = self.params
        try:
            self.client = PinotClient(
                params["controller_url"], username=params["username"], password=params["password"],
                token=params["token"], headers=params["headers"], validate_certs=params["validate_certs"],
                ca_path=params["ca_path"], client_cert=params["client_cert"], client_key=params["client_key"],
                timeout=params["timeout"], retries=params["retries"], credential_origin=self.credential_origin())
        except PinotError as exc:
            self.fail_json(msg=str(exc), exception=error_traceback(exc))

    def _load_params(self):
        super(PinotModule, self)._load_params()
        # The options the task set, before the PINOT_* fallbacks fill the others in: messages say where credentials
        # came from.
        self.options_given = set(key for key, value in self.params.items() if value is not None)

    def credential_origin(self):
        """{"username"|"password"|"token": "the <name> option" or the PINOT_* variable it came from}."""
        return dict((name, "the %s option" % name if name in self.options_given else variable)
                    for name, variable in CREDENTIAL_ENV.items())

    def fail_on_empty_list(self, name, instead):
        """Fail when list option `name` was given as []: a list that came out empty is a mistake, not "all".

        `instead` says what to give, e.g. "give at least one instance id, or leave name out to list every instance".
        """
        if self.params.get(name) == []:
            self.fail_json(msg="%s is an empty list: %s. Nothing was done." % (name, instead))

    def fail_from_error(self, exc, msg=None, **result):
        """Fail with a PinotError's message (prefixed by what was being done), its details and its traceback.

        The traceback goes to `exception` (as kubernetes.core and amazon.aws do); the message stays the same.
        ansible-core 2.18 shows it with -vvv, 2.19+ with ANSIBLE_DISPLAY_TRACEBACK=error.
        """
        text = "%s: %s" % (msg, exc) if msg else str(exc)
        details = exc.to_result()
        details.update(result)
        self.fail_json(msg=text, exception=error_traceback(exc), **details)
