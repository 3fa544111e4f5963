# -*- coding: utf-8 -*-
# Copyright: 2026 uwsgi-apps developers
# MIT License (see the project's debian/copyright)
"""Run uwsgi-apps on the managed host and read its JSON.

Shared by the modules of this collection. Everything the modules know
about apps comes from the program's own JSON (``--json``): this file
never reads /etc/uwsgi itself and never parses the human output, so the
product stays the one place where its rules live.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

# The options every module of the collection takes (documented once, in
# plugins/doc_fragments/uwsgi_apps.py).
COMMON_ARGUMENT_SPEC = dict(
    root=dict(type='path'),
    binary=dict(type='path'),
)

# The program's name, looked up in PATH and in the sbin directories
# (Debian installs it in /usr/sbin, which a non-root PATH may lack).
PROGRAM = 'uwsgi-apps'
SBIN_DIRS = ['/usr/sbin', '/usr/local/sbin', '/sbin']

# The program's messages in one language whatever the remote user's
# locale, and no colour.
ENVIRONMENT = {'LANG': 'C.UTF-8', 'LC_ALL': 'C.UTF-8', 'NO_COLOR': '1'}

# What uwsgi-apps prefixes its warnings on stderr with.
WARNING_PREFIX = PROGRAM + ': warning: '


def label(namespace, name):
    """How uwsgi-apps names an app: NAME in namespace app, else NS/NAME."""
    if namespace == 'app':
        return name
    return '%s/%s' % (namespace, name)


def check_name(module, what, value):
    """An app or namespace name as the program takes it, or an Ansible
    error: never empty, never ``.``/``..``, no ``/``; and no glob
    characters, which uwsgi-enapp would expand (a task names its apps
    exactly, so that what it reports is exact)."""
    if value in ('', '.', '..') or '/' in value or '\0' in value:
        module.fail_json(msg='%s %r is not a valid name: it must not be empty, "." or "..", '
                             'nor contain "/"' % (what, value))
    if any(c in value for c in '*?['):
        module.fail_json(msg='%s %r looks like a shell pattern (*, ?, [): give each app by its '
                             'exact name' % (what, value))


class UwsgiApps(object):
    """uwsgi-apps on the managed host: found once, run with an argv list
    (never a shell), its JSON decoded; every failure is the module's
    ``fail_json`` with what went wrong, never a traceback."""

    def __init__(self, module):
        self.module = module
        self.root = module.params.get('root')
        if self.root is not None and not os.path.isdir(self.root):
            module.fail_json(msg='root=%s is not a directory on this host' % self.root)
        self.binary = self._find_binary(module.params.get('binary'))
        # Every command run, for the task's result (what ran, its exit
        # status and its JSON): what a user reads with -v to see why.
        self.commands = []

    def _find_binary(self, given):
        if given:
            if not os.path.exists(given):
                self.module.fail_json(msg='binary=%s: no such file on this host' % given)
            if os.path.isdir(given) or not os.access(given, os.X_OK):
                self.module.fail_json(msg='binary=%s is not an executable program' % given)
            return given
        found = self.module.get_bin_path(PROGRAM, opt_dirs=SBIN_DIRS)
        if not found:
            self.module.fail_json(
                msg='%s was not found on this host (looked in PATH and %s): install the '
                    'uwsgi-apps package, or give the program\'s path with binary='
                    % (PROGRAM, ', '.join(SBIN_DIRS)))
        return found

    def run(self, subcommand, options=None, specs=None, keep=True):
        """Run ``uwsgi-apps SUBCOMMAND --json [--root ROOT] OPTIONS -- SPECS``
        and return ``(rc, document)``. Fails the module when the program
        did not print one JSON object (a usage error, a crash); a non-zero
        exit with a document is the caller's to explain, per app. Without
        ``keep`` the document is not kept for the task's result (``list``
        of a host with thousands of apps)."""
        argv = [self.binary, subcommand, '--json']
        if self.root is not None:
            argv += ['--root', self.root]
        argv += list(options or [])
        if specs:
            # Names that start with "-" are names, not options.
            argv += ['--'] + list(specs)
        rc, out, err = self.module.run_command(argv, environ_update=ENVIRONMENT)
        record = dict(argv=argv, rc=rc)
        self.commands.append(record)
        self._relay_warnings(err)
        try:
            document = json.loads(out)
        except ValueError:
            document = None
        if not isinstance(document, dict):
            self.fail('%s %s printed no JSON document (exit status %d): %s'
                      % (PROGRAM, subcommand, rc, (err or out).strip() or 'no output'),
                      stdout=out, stderr=err, rc=rc)
        if keep:
            record['result'] = document
        return rc, document

    def _relay_warnings(self, stderr):
        """The program's warnings (a disabled app still running, …) become
        the task's warnings, word for word."""
        for line in (stderr or '').splitlines():
            if line.startswith(WARNING_PREFIX):
                self.module.warn(line[len(WARNING_PREFIX):])

    def apps(self):
        """``uwsgi-apps list --json``: every app of every namespace."""
        rc, document = self.run('list', keep=False)
        rows = document.get('apps')
        if rc != 0 or not isinstance(rows, list):
            self.fail('%s list failed (exit status %d)' % (PROGRAM, rc))
        return rows

    def fail(self, msg, **extra):
        """Fail the task, with the commands run so far (what ran and its
        exit status: the message already says what their documents said)."""
        extra.setdefault('commands', [dict(argv=c['argv'], rc=c['rc']) for c in self.commands])
        self.module.fail_json(msg=msg, **extra)
