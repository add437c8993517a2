# -*- coding: utf-8 -*-
# Copyright (c) pinotops.pinot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Module arguments several modules share: which typed tables a table argument means, and list options.

Every module that takes table names resolves them here, so that a raw name, a typed name, a tenant and
"every table" mean the same everywhere, with Pinot's own wording when a table does not exist.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

from ansible_collections.pinotops.pinot.plugins.module_utils.names import existing_table_names, split_table_name


def empty_list_message(params, instead):
    """None, or why an option given as an empty list is refused; `instead` maps option -> what to give instead.

    An empty list is what a template yields for "no items"; reading it as "nothing to do" (or as "everything") would
    let a task pass, or act on every table, without a word.
    """
    for option in sorted(instead):
        if params.get(option) == []:
            return "%s is an empty list; %s" % (option, instead[option])
    return None


def typed_table_names(tables, table_type, types_of):
    """Typed names the table arguments mean, in the order given, each once.

    `tables` are raw or typed names, `table_type` None or OFFLINE/REALTIME, `types_of` {raw name: types that exist}.
    Each argument is resolved as Pinot resolves it (names.existing_table_names), which raises PinotError in Pinot's
    words when a table does not exist or a typed name contradicts `table_type`.
    """
    found = []
    for table in tables:
        for name in existing_table_names(table, table_type, types_of.get(split_table_name(table)[0]) or ()):
            if name not in found:
                found.append(name)
    return found


def resolve_tables(client, tables=None, table_type=None, tenant=None):
    """Typed names a task is about: the server tenant's tables, the table arguments, or (neither given) every table.

    Two listings (or one tenant listing), not a read per table. Raises PinotError (see typed_table_names).
    """
    if tables is not None:
        types_of = {}
        for name, kind in client.typed_tables():
            types_of.setdefault(split_table_name(name)[0], []).append(kind)
        return typed_table_names(tables, table_type, types_of)
    if tenant:
        listed = [(name, split_table_name(name)[1]) for name in client.tenant_tables(tenant)]
    else:
        listed = client.typed_tables()
    return [name for name, kind in listed if kind and table_type in (None, kind)]
