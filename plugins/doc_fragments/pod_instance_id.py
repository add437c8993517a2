# -*- coding: utf-8 -*-
# Copyright (c) pinotops.pinot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name


class ModuleDocFragment:
    """How a StatefulSet pod's Pinot instance id is built (mirrors module_utils/names.PodInstanceIds)."""

    DOCUMENTATION = r"""
options:
  template:
    description: How a pod's instance id is built, with C({pod}), C({service}), C({namespace}), C({domain}), C({port}).
    type: str
    default: "Server_{pod}.{service}.{namespace}.svc.{domain}_{port}"
  service:
    description: The headless service, for C({service}); empty for C(<statefulset>-headless).
    type: str
    default: ""
  namespace:
    description: The namespace, for C({namespace}).
    type: str
    default: ""
  domain:
    description: The cluster domain, for C({domain}).
    type: str
    default: cluster.local
  port:
    description: The servers' netty port, for C({port}).
    type: int
    default: 8098
"""
