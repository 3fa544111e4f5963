# -*- coding: utf-8 -*-
# Copyright: 2026 uwsgi-apps developers
# MIT License (see the project's debian/copyright)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # The options of plugins/module_utils/uwsgi_apps.py's COMMON_ARGUMENT_SPEC.
    DOCUMENTATION = r'''
options:
  root:
    description:
      - Act on the tree under this directory instead of C(/), as C(uwsgi-apps --root) does
        (every path, C(/etc/uwsgi), C(/run/uwsgi), C(/var/lib/uwsgi), C(/etc/default/uwsgi), moves
        under it). For tests and staging trees.
      - Under a root other than C(/), C(ENGINE=auto) means the daemon engine.
      - Unset, C(uwsgi-apps) uses its own default (C(/), or C(UWSGI_APPS_ROOT) from the environment).
    type: path
  binary:
    description:
      - Path of the C(uwsgi-apps) program on the managed host.
      - Unset, it is looked up in C(PATH) and in C(/usr/sbin), C(/usr/local/sbin) and C(/sbin).
    type: path
requirements:
  - uwsgi-apps (the Debian package C(uwsgi-apps)) on the managed host
notes:
  - The modules run C(uwsgi-apps) on the managed host and read its JSON output; they change
    nothing themselves.
'''
