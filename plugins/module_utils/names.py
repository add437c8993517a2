# -*- coding: utf-8 -*-
# Copyright (c) pinotops.pinot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Table and instance names: typed table names as Pinot spells them, an instance's type from its id, and the ids of a
StatefulSet's server pods (pure)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

import re

from ansible_collections.pinotops.pinot.plugins.module_utils.errors import PinotError

TABLE_TYPES = ("OFFLINE", "REALTIME")


def table_name_with_type(table, table_type):
    """`events` + REALTIME -> `events_REALTIME`; a typed name is kept as is."""
    suffix = "_" + table_type.upper()
    return table if table.endswith(suffix) else table + suffix


def split_table_name(table):
    """`events_REALTIME` -> (`events`, `REALTIME`); a raw name -> (name, None)."""
    for table_type in TABLE_TYPES:
        if table.endswith("_" + table_type):
            return table[:-len(table_type) - 1], table_type
    return table, None


def existing_table_names(table, table_type, existing_types):
    """Typed names a table argument means, as Pinot resolves it (ResourceUtils.getExistingTableNamesWithType).

    `table` is raw or typed, `table_type` None or OFFLINE/REALTIME, `existing_types` the types that exist
    for the raw name (the keys of GET /tables/{raw}). Raises PinotError with Pinot's wording when the
    typed name contradicts `table_type` or no such table exists.
    """
    raw, typed_as = split_table_name(table)
    if typed_as and table_type and typed_as != table_type.upper():
        raise PinotError("Table name: %s does not match table type: %s" % (table, table_type.upper()),
                         hint="Give the raw table name with table_type, or the typed name alone")
    wanted = [typed_as or table_type.upper()] if (typed_as or table_type) else list(TABLE_TYPES)
    found = [raw + "_" + kind for kind in wanted if kind in existing_types]
    if not found:
        raise PinotError("Table '%s' not found." % (raw + "_" + wanted[0] if len(wanted) == 1 else table),
                         hint="Check the name with GET /tables")
    return found


INSTANCE_TYPES = {"Controller_": "controller", "Broker_": "broker", "Server_": "server", "Minion_": "minion"}


def instance_type(name):
    """Pinot stores no type: it is the id's prefix (`Server_...` -> `server`); None when unrecognised."""
    for prefix, kind in INSTANCE_TYPES.items():
        if name.startswith(prefix):
            return kind
    return None


# The Helm chart's server ids: pinot.set.instance.id.to.hostname=true makes the id the pod's FQDN and netty port.
HELM_INSTANCE_TEMPLATE = "Server_{pod}.{service}.{namespace}.svc.{domain}_{port}"


class PodInstanceIds:
    """The Pinot instance ids of a StatefulSet's pods (`<statefulset>-<ordinal>`), both ways.

    `template` builds an id from {pod}, {service}, {namespace}, {domain} and {port}, which `fields` fill (the Helm
    chart's scheme by default). A template without {pod}, or with a placeholder `fields` do not fill, is a ValueError.
    """

    def __init__(self, statefulset, template=HELM_INSTANCE_TEMPLATE, **fields):
        prefix, pod, suffix = template.partition("{pod}")
        if not pod:
            raise ValueError("the instance template %r has no {pod} placeholder" % template)
        try:
            self.prefix, self.suffix = prefix.format(**fields), suffix.format(**fields)
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError("the instance template %r cannot be used: %s" % (template, exc))
        self.statefulset = statefulset
        self._pattern = re.compile("^%s%s-(\\d+)%s$" % (re.escape(self.prefix), re.escape(statefulset), re.escape(self.suffix)))

    def pod(self, ordinal):
        return "%s-%d" % (self.statefulset, ordinal)

    def instance(self, ordinal):
        """The id of the pod with this ordinal."""
        return self.prefix + self.pod(ordinal) + self.suffix

    def ordinal(self, name):
        """The ordinal of the pod whose id `name` is, or None when it is no pod of this StatefulSet."""
        match = self._pattern.match(name or "")
        return int(match.group(1)) if match else None
