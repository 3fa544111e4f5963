#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: 2026 uwsgi-apps developers
# MIT License (see the project's debian/copyright)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: uwsgi_app
short_description: Enable, disable, start, stop and reload uWSGI apps with uwsgi-apps
description:
  - Manages uWSGI apps of Debian's C(apps-available)/C(apps-enabled) layout through the
    C(uwsgi-apps) program on the managed host, whatever engine runs them there (one daemon per
    app, one systemd unit per app, or an Emperor).
  - I(state) enables or disables the apps, as C(uwsgi-enapp) and C(uwsgi-disapp) do (a relative
    link in C(apps-enabled), and a state marker that records who did it).
  - I(running) starts, stops, reloads or restarts their instances, as C(uwsgi-apps start) and the
    others do (a start waits until the app is ready; a failed start fails the task with the tail of
    the app's log).
  - The task reports C(changed) exactly when C(uwsgi-apps) changed something. In check mode
    nothing changes and the task says what would (C(uwsgi-enapp --dry-run) for I(state), the
    running state that C(uwsgi-apps list) reports for I(running)). With C(--diff) it shows the
    link, state markers and running state of each app before and after.
  - When both are given, an app is enabled before it is started, and stopped before it is
    disabled.
version_added: 0.1.0
author:
  - uwsgi-apps developers (@uwsgi-apps)
options:
  name:
    description:
      - The apps, by name (the file name in C(apps-available) without its extension), one or a list.
      - Exact names only; shell patterns are refused, so that the task reports exactly what it did.
    type: list
    elements: str
    required: true
  namespace:
    description:
      - The namespace of the apps. C(app) is C(/etc/uwsgi/apps-available) and C(apps-enabled);
        namespace C(NS) is C(/etc/uwsgi/NSs-available) and C(NSs-enabled).
    type: str
    default: app
  state:
    description:
      - C(enabled) links each app into C(apps-enabled) (C(uwsgi-enapp)); C(disabled) removes that
        link (C(uwsgi-disapp)).
      - Disabling does not stop a running instance; add I(running=stopped) for that (an instance
        left running fails at its next reload, and the task warns about it).
      - At least one of I(state) and I(running) is required.
    type: str
    choices: [enabled, disabled]
  running:
    description:
      - C(started) starts each app that does not run, and waits until it is ready.
      - C(stopped) stops each app that runs (also one that was disabled while it ran).
      - C(reloaded) always reloads each app that runs (gracefully, SIGHUP), and starts one that
        does not, as Ansible's service modules do; see I(wait).
      - C(restarted) always stops and starts each app.
      - C(reloaded) and C(restarted) always report C(changed); use them in handlers.
      - An app must be enabled to be started, reloaded or restarted.
    type: str
    choices: [started, stopped, reloaded, restarted]
  by:
    description:
      - Whom I(state) records the change as made by, in the app's state marker.
      - C(admin) is the site administrator (C(uwsgi-enapp)); C(maintainer) is a package's
        maintainer script (C(uwsgi-enapp --maintmode)), and then an app that the administrator
        disabled stays disabled (the task reports no change, with a warning, and does not start
        it).
    type: str
    choices: [admin, maintainer]
    default: admin
  force:
    description:
      - With I(state=enabled), replace a link in C(apps-enabled) that points somewhere else
        (C(uwsgi-enapp --force)). A regular file there is never replaced.
    type: bool
    default: false
  purge:
    description:
      - With I(state=disabled), also remove every state marker of the apps
        (C(uwsgi-disapp --purge)), as a package's postrm does on purge.
    type: bool
    default: false
  wait:
    description:
      - With I(running=reloaded), return only once the reload has completed and the new workers
        serve (C(uwsgi-apps reload --wait)); a reload that never completes fails the task.
      - Without it the task returns as soon as the app was told to reload.
    type: bool
    default: true
  start_timeout:
    description:
      - Seconds to wait for an app to be ready after a start or a reload with I(wait)
        (C(--start-timeout)). Unset, C(START_TIMEOUT) from C(/etc/default/uwsgi), else 30.
    type: int
  stop_timeout:
    description:
      - Seconds to wait for an app to exit after SIGINT before it is killed (C(--timeout)).
        Unset, 30.
    type: int
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.actiongroups
  - uwsgi_apps.uwsgi.uwsgi_apps
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  platform:
    platforms: debian
  action_group:
    membership: [uwsgi_apps.uwsgi.uwsgi]
seealso:
  - module: uwsgi_apps.uwsgi.uwsgi_app_info
'''

EXAMPLES = r'''
- name: Enable searxng and make sure it runs
  uwsgi_apps.uwsgi.uwsgi_app:
    name: searxng
    state: enabled
    running: started

- name: Stop and disable two apps
  uwsgi_apps.uwsgi.uwsgi_app:
    name: [radicale, cgit]
    state: disabled
    running: stopped

- name: Install the app's config; the handler reloads only this app
  ansible.builtin.template:
    src: blog.ini.j2
    dest: /etc/uwsgi/apps-available/blog.ini
    owner: root
    mode: "0644"
  notify: Reload uwsgi app blog

# In the play's handlers:
- name: Reload uwsgi app blog
  uwsgi_apps.uwsgi.uwsgi_app:
    name: blog
    running: reloaded
    wait: true

- name: Enable an app the way a package's maintainer script does (the admin's choice wins)
  uwsgi_apps.uwsgi.uwsgi_app:
    name: myapp
    state: enabled
    by: maintainer

- name: An app of namespace vassal (/etc/uwsgi/vassals-available/worker.ini)
  uwsgi_apps.uwsgi.uwsgi_app:
    name: worker
    namespace: vassal
    state: enabled
'''

RETURN = r'''
apps:
  description:
    - The named apps after the task, as C(uwsgi-apps list --json) reports them (one entry per
      configuration file; an app that does not exist has none). In check mode, as they are.
  returned: always
  type: list
  elements: dict
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
      uptime_seconds: 3
commands:
  description:
    - Each C(uwsgi-apps) command the task ran (argv), with its exit status (rc) and its JSON
      document (result; not for C(list), which covers every app of the host).
    - When the task fails, only argv and rc; the message says what the documents said.
  returned: always
  type: list
  elements: dict
  sample:
    - argv: [/usr/sbin/uwsgi-apps, enable, --json, --, hello]
      rc: 0
      result:
        command: enable
        dry_run: false
        exit_status: 0
        results:
          - argument: hello
            changed: true
            file: hello.ini
            name: hello
            namespace: app
            result: enabled
            message: Enabling app hello.
log_tail:
  description:
    - When an app failed to start or reload, the last lines of its log.
  returned: failure of a start, reload or restart
  type: list
  elements: str
  sample:
    - '*** no app loaded. GAME OVER ***'
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.uwsgi_apps.uwsgi.plugins.module_utils.uwsgi_apps import (
    COMMON_ARGUMENT_SPEC,
    UwsgiApps,
    check_name,
    label,
)

# The fields of a `list --json` row that the diff shows: the link, the
# state markers, whether it runs.
DIFF_FIELDS = ('enabled', 'enabled_by', 'disabled_by', 'link', 'link_target', 'running')

# The module's `by` as `uwsgi-apps list --json` names the actor.
ACTOR = {'admin': 'admin', 'maintainer': 'maint'}


class Task(object):
    """One run of the module: the named apps, what they are now, what the
    task did (or, in check mode, would do) to them."""

    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.check = module.check_mode
        self.namespace = self.params['namespace']
        self.names = self.params['name']
        self.program = UwsgiApps(module)
        self.changed = False
        # Names that must not be started: the administrator disabled them
        # and this task works as a maintainer script.
        self.held = set()
        self.before = self.rows()
        # In check mode, what the task would leave (predicted from the dry
        # run and from what runs); otherwise read again at the end.
        self.predicted = [dict(row) for row in self.before]

    def spec(self, name):
        return label(self.namespace, name)

    def rows(self):
        return [row for row in self.program.apps()
                if row.get('namespace') == self.namespace and row.get('name') in self.names]

    def rows_of(self, name, rows=None):
        return [row for row in (self.before if rows is None else rows) if row.get('name') == name]

    def fail(self, msg, **extra):
        self.program.fail(msg, changed=self.changed, **extra)

    # --- state: enabled / disabled -------------------------------------

    def switch(self):
        state = self.params['state']
        subcommand = 'enable' if state == 'enabled' else 'disable'
        options = []
        if self.params['by'] == 'maintainer':
            options.append('--maintmode')
        if self.params['force']:
            options.append('--force')
        if self.params['purge']:
            options.append('--purge')
        if self.check:
            options.append('--dry-run')
        rc, document = self.program.run(subcommand, options, [self.spec(n) for n in self.names])
        results = document.get('results')
        if not isinstance(results, list):
            self.fail('uwsgi-apps %s printed a document without results' % subcommand)
        errors = []
        for result in results:
            if 'changed' not in result:
                self.fail('this uwsgi-apps is too old: its JSON does not say what changed; '
                          'upgrade the uwsgi-apps package')
            self.changed = self.changed or bool(result['changed'])
            if result.get('result') == 'error':
                errors.append(result.get('error') or 'failed')
            elif result.get('result') == 'kept-disabled-by-admin':
                self.held.add(result.get('name'))
                self.module.warn(result.get('message') or 'kept disabled by the administrator')
            if self.check and result.get('changed'):
                self.predict_switch(result)
        if errors or rc != 0:
            self.fail('uwsgi-apps %s: %s' % (subcommand, '; '.join(errors) or 'exit status %d' % rc))

    def predict_switch(self, result):
        """What the dry run says a file of an app would become."""
        by = ACTOR[self.params['by']]
        purge = self.params['purge']
        for row in self.predicted:
            if row.get('name') != result.get('name'):
                continue
            if result.get('file') not in (None, row.get('file')):
                continue
            code = result.get('result')
            if code == 'enabled':
                row.update(enabled=True, link='ok', link_target=None, enabled_by=by,
                           disabled_by=None)
            elif code in ('disabled', 'removed-dangling-link'):
                row.update(enabled=False, link=None, link_target=None, enabled_by=None,
                           disabled_by=None if purge or code != 'disabled' else by)
            if purge:
                row.update(enabled_by=None, disabled_by=None)

    def enabled_after_switch(self, name):
        return any(row.get('enabled') for row in self.rows_of(name, self.predicted))

    # --- running: started / stopped / reloaded / restarted -------------

    def run_instances(self):
        want = self.params['running']
        known = set(row.get('name') for row in self.before)
        runs = dict((n, any(r.get('running') for r in self.rows_of(n))) for n in self.names)
        names = [n for n in self.names if n not in self.held]
        if want == 'started':
            plan = [('start', [n for n in names if not runs[n]])]
        elif want == 'stopped':
            # One that does not exist is passed on: uwsgi-apps says so.
            plan = [('stop', [n for n in names if runs[n] or n not in known])]
        elif want == 'restarted':
            plan = [('restart', names)]
        else:
            plan = [('reload', [n for n in names if runs[n]]),
                    ('start', [n for n in names if not runs[n]])]
        for subcommand, targets in plan:
            if targets:
                if self.check:
                    self.predict_instances(subcommand, targets, known)
                else:
                    self.instances(subcommand, targets)

    def options_for(self, subcommand):
        p = self.params
        options = []
        if subcommand == 'reload' and p['wait']:
            options.append('--wait')
        if p['start_timeout'] is not None and (subcommand in ('start', 'restart')
                                               or (subcommand == 'reload' and p['wait'])):
            options += ['--start-timeout', str(p['start_timeout'])]
        if p['stop_timeout'] is not None and subcommand in ('stop', 'restart'):
            options += ['--timeout', str(p['stop_timeout'])]
        return options

    def not_found(self, subcommand, name):
        text = '%s: no such app is enabled' % self.spec(name)
        if subcommand != 'stop':
            text += ' (enable it first, with state=enabled), so it cannot be %s' % {
                'start': 'started', 'reload': 'reloaded', 'restart': 'restarted'}[subcommand]
        return text

    def predict_instances(self, subcommand, targets, known):
        """Check mode: the command would change each target (the targets
        were chosen by what runs), unless it would fail for want of an
        enabled app, which check mode reports as the real run would."""
        for name in targets:
            missing = name not in known if subcommand == 'stop' else \
                not self.enabled_after_switch(name)
            if missing:
                self.fail(self.not_found(subcommand, name))
            self.changed = True
            for row in self.rows_of(name, self.predicted):
                row['running'] = subcommand != 'stop'

    def instances(self, subcommand, targets):
        rc, document = self.program.run(subcommand, self.options_for(subcommand),
                                        [self.spec(n) for n in targets])
        instances = document.get('instances')
        if not isinstance(instances, list):
            self.fail('uwsgi-apps %s printed a document without instances' % subcommand)
        errors = []
        tail = []
        for instance in instances:
            if 'changed' not in instance:
                self.fail('this uwsgi-apps is too old: its JSON does not say what changed; '
                          'upgrade the uwsgi-apps package')
            self.changed = self.changed or bool(instance['changed'])
            name = instance.get('name')
            if instance.get('result') == 'not-found':
                errors.append(self.not_found(subcommand, name))
            elif instance.get('result') == 'failed':
                text = '%s: %s' % (self.spec(name), instance.get('error') or 'failed')
                lines = (instance.get('log_tail') or '').splitlines()
                if lines:
                    text += '\nlast lines of its log:\n' + '\n'.join('    ' + line for line in lines)
                    tail += lines
                errors.append(text)
        if errors or rc != 0:
            extra = {'log_tail': tail} if tail else {}
            self.fail('uwsgi-apps %s failed: %s' % (
                subcommand, '\n'.join(errors) or 'exit status %d' % rc), **extra)

    # --- the whole task --------------------------------------------------

    def run(self):
        state, running = self.params['state'], self.params['running']
        # Stop before disabling: an instance whose config is gone fails at
        # its next reload. Enable before starting: only an enabled app runs.
        if state == 'disabled':
            if running:
                self.run_instances()
            self.switch()
        else:
            if state:
                self.switch()
            if running:
                self.run_instances()
        after = self.before if self.check else self.rows()
        result = dict(changed=self.changed, apps=after, commands=self.program.commands)
        if self.module._diff:
            result['diff'] = dict(before=diff_view(self.before),
                                  after=diff_view(self.predicted if self.check else after))
        self.module.exit_json(**result)


def diff_view(rows):
    """The diff's view of the apps: per configuration file, its link,
    markers and whether it runs (not its pid or uptime, which change
    without the task)."""
    return dict(('%s/%s' % (row.get('namespace'), row.get('file')),
                 dict((k, row.get(k)) for k in DIFF_FIELDS)) for row in rows)


def validate(module):
    p = module.params
    if not p['name']:
        module.fail_json(msg='name: give at least one app')
    check_name(module, 'namespace', p['namespace'])
    for name in p['name']:
        check_name(module, 'app name', name)
    if p['state'] == 'disabled' and p['running'] in ('started', 'reloaded', 'restarted'):
        module.fail_json(msg='state=disabled with running=%s: an app must be enabled to run; '
                             'use running=stopped (or no running) with state=disabled'
                             % p['running'])
    if p['force'] and p['state'] != 'enabled':
        module.fail_json(msg='force applies to state=enabled only')
    if p['purge'] and p['state'] != 'disabled':
        module.fail_json(msg='purge applies to state=disabled only')
    for key in ('start_timeout', 'stop_timeout'):
        if p[key] is not None and p[key] <= 0:
            module.fail_json(msg='%s must be a positive number of seconds' % key)


def main():
    argument_spec = dict(
        name=dict(type='list', elements='str', required=True),
        namespace=dict(type='str', default='app'),
        state=dict(type='str', choices=['enabled', 'disabled']),
        running=dict(type='str', choices=['started', 'stopped', 'reloaded', 'restarted']),
        by=dict(type='str', choices=['admin', 'maintainer'], default='admin'),
        force=dict(type='bool', default=False),
        purge=dict(type='bool', default=False),
        wait=dict(type='bool', default=True),
        start_timeout=dict(type='int'),
        stop_timeout=dict(type='int'),
    )
    argument_spec.update(COMMON_ARGUMENT_SPEC)
    module = AnsibleModule(
        argument_spec=argument_spec,
        required_one_of=[('state', 'running')],
        supports_check_mode=True,
    )
    validate(module)
    Task(module).run()


if __name__ == '__main__':
    main()
