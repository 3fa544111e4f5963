#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: 2026 uwsgi-apps developers
# MIT License (see the project's debian/copyright)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: uwsgi_app_info
short_description: List uWSGI apps, their links, state markers and instances, with uwsgi-apps
description:
  - Returns what C(uwsgi-apps list --json) reports on the managed host, whatever engine runs the
    apps there. Every app of every namespace, available or enabled; its format; whether it is
    enabled, and by whom; the health of its link; whether it runs (pid, uptime).
  - Changes nothing.
version_added: 0.1.0
author:
  - uwsgi-apps developers (@uwsgi-apps)
options:
  name:
    description:
      - Only these apps (by name, without extension). Unset, every app.
      - A name that matches no app is not an error; it is simply not in I(apps).
    type: list
    elements: str
  namespace:
    description:
      - Only the apps of this namespace (C(app) for C(apps-available)). Unset, every namespace.
    type: str
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.actiongroups
  - uwsgi_apps.uwsgi.uwsgi_apps
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  platform:
    platforms: debian
  action_group:
    membership: [uwsgi_apps.uwsgi.uwsgi]
seealso:
  - module: uwsgi_apps.uwsgi.uwsgi_app
'''

EXAMPLES = r'''
- name: Read every app
  uwsgi_apps.uwsgi.uwsgi_app_info:
  register: uwsgi

- name: Every enabled app that does not run
  ansible.builtin.debug:
    msg: "{{ uwsgi.apps | selectattr('enabled') | rejectattr('running') | map(attribute='name') }}"

- name: One app
  uwsgi_apps.uwsgi.uwsgi_app_info:
    name: searxng
  register: searxng

- name: Fail unless it runs
  ansible.builtin.assert:
    that: searxng.apps | selectattr('running') | list | length == 1
'''

RETURN = r'''
apps:
  description:
    - The apps, one entry per configuration file, as C(uwsgi-apps list --json) gives them.
  returned: always
  type: list
  elements: dict
  contains:
    namespace:
      description: The app's namespace (C(app) for C(apps-available)).
      type: str
      sample: app
    name:
      description: The app's name (its file name without extension).
      type: str
      sample: hello
    file:
      description: Its file name.
      type: str
      sample: hello.ini
    format:
      description: Its format, by extension (C(ini), C(json), C(yaml), C(xml), C(sqlite), ...).
      type: str
      sample: ini
    available:
      description: Whether it is in C(apps-available).
      type: bool
    enabled:
      description: Whether C(apps-enabled) links it.
      type: bool
    enabled_by:
      description: Who enabled it (C(admin) or C(maint), a maintainer script), when enabled and known.
      type: str
      sample: admin
    disabled_by:
      description: Who disabled it (C(admin) or C(maint)), when disabled and known.
      type: str
    link:
      description:
        - The health of its entry in C(apps-enabled) (C(ok), C(dangling), C(foreign), a regular
          file, ...); null when there is none.
      type: str
      sample: ok
    link_target:
      description: Where a dangling or foreign link points.
      type: str
    running:
      description: Whether an instance of it runs.
      type: bool
    pid:
      description: The pid of its uWSGI master, when it runs.
      type: int
      sample: 4242
    uptime_seconds:
      description: How long its master has run, when it runs.
      type: int
      sample: 3600
  sample:
    - namespace: app
      name: hello
      file: hello.ini
      format: ini
      available: true
      enabled: true
      enabled_by: admin
      disabled_by: null
      link: ok
      link_target: null
      running: true
      pid: 4242
      uptime_seconds: 3600
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.uwsgi_apps.uwsgi.plugins.module_utils.uwsgi_apps import (
    COMMON_ARGUMENT_SPEC,
    UwsgiApps,
    check_name,
)


def main():
    argument_spec = dict(
        name=dict(type='list', elements='str'),
        namespace=dict(type='str'),
    )
    argument_spec.update(COMMON_ARGUMENT_SPEC)
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    names = module.params['name']
    namespace = module.params['namespace']
    if namespace is not None:
        check_name(module, 'namespace', namespace)
    program = UwsgiApps(module)
    apps = [row for row in program.apps()
            if (names is None or row.get('name') in names)
            and (namespace is None or row.get('namespace') == namespace)]
    module.exit_json(changed=False, apps=apps)


if __name__ == '__main__':
    main()
