# -*- coding: utf-8 -*-
# Copyright (c) pinotops.pinot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

import pytest

from ansible_collections.pinotops.pinot.plugins.module_utils.names import PodInstanceIds

HELM_FIELDS = {"service": "pinot-server-headless", "namespace": "pinot-quickstart", "domain": "cluster.local", "port": 8098}


def test_pod_ids_both_ways_with_the_helm_scheme():
    ids = PodInstanceIds("pinot-server", **HELM_FIELDS)
    name = "Server_pinot-server-12.pinot-server-headless.pinot-quickstart.svc.cluster.local_8098"
    assert ids.pod(12) == "pinot-server-12" and ids.instance(12) == name
    assert ids.ordinal(name) == 12


@pytest.mark.parametrize("name", ["Server_pinot-broker-1.pinot-server-headless.pinot-quickstart.svc.cluster.local_8098",
                                  "Server_pinot-server-1.pinot-server-headless.other.svc.cluster.local_8098",
                                  "Server_pinot-server-x.pinot-server-headless.pinot-quickstart.svc.cluster.local_8098",
                                  "", None])
def test_ids_of_other_pods_have_no_ordinal(name):
    assert PodInstanceIds("pinot-server", **HELM_FIELDS).ordinal(name) is None


def test_a_custom_template():
    ids = PodInstanceIds("srv", template="Server_{pod}_{port}", port=7000)
    assert ids.instance(1) == "Server_srv-1_7000" and ids.ordinal("Server_srv-1_7000") == 1


@pytest.mark.parametrize("template, words", [("Server_x_{port}", "has no {pod} placeholder"),
                                             ("Server_{pod}_{zone}", "cannot be used")])
def test_templates_that_cannot_build_an_id_are_refused(template, words):
    with pytest.raises(ValueError, match=words.replace("{", "\\{").replace("}", "\\}")):
        PodInstanceIds("srv", template=template, port=1)
