//! Sockets of running instances against `chmod-socket` / `chown-socket`.
//!
//! uWSGI applies both when it binds a UNIX socket. A socket whose mode or
//! owner differs was made by something else (an older instance, a reload
//! that kept an old socket, a hand-made file), and the web server gets
//! `Permission denied` on it.

use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::PathBuf;

use super::{Finding, NamespaceFacts, Severity};
use crate::config::{self, Account, ConfigOptions};
use crate::display::{display_name, display_path};
use crate::name::Confspec;

/// Options that bind a socket; a value without `:` (and not `@abstract`)
/// is a UNIX socket path, as uWSGI decides.
const SOCKET_OPTIONS: [&str; 6] = [
    "socket",
    "uwsgi-socket",
    "http-socket",
    "fastcgi-socket",
    "scgi-socket",
    "shared-socket",
];

/// Expand the placeholders Debian's default config uses. `None` when the
/// value holds another `%` placeholder whose value doctor cannot know.
pub fn expand(value: &str, spec: &Confspec) -> Option<String> {
    let ns = spec.namespace.as_os_str().to_str()?;
    let name = spec.name.to_str()?;
    let out = value
        .replace("%(deb-confnamespace)", ns)
        .replace("%(deb-confname)", name)
        .replace("%n", name);
    (!out.contains('%')).then_some(out)
}

/// The mode `chmod-socket` asks for: no value means 0666, else octal.
pub fn wanted_mode(value: &str) -> Option<u32> {
    let v = value.trim();
    if v.is_empty() || v == "true" || v == "1" {
        return Some(0o666);
    }
    u32::from_str_radix(v, 8).ok().filter(|m| *m <= 0o7777)
}

/// The owner `chown-socket` asks for: `user` or `user:group`, names or ids.
pub fn wanted_owner(value: &str) -> Option<(u32, Option<u32>)> {
    let (user, group) = match value.trim().split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (value.trim(), None),
    };
    let uid = match Account::parse(user) {
        Account::Id(id) => id,
        Account::Name(n) => nix::unistd::User::from_name(&n).ok()??.uid.as_raw(),
    };
    let gid = match group {
        None => None,
        Some(g) => Some(match Account::parse(g) {
            Account::Id(id) => id,
            Account::Name(n) => config::group_id(&n)?,
        }),
    };
    Some((uid, gid))
}

/// The value an option has for the instance: the app's last one, else the
/// inherited config's (the app's config is loaded after it).
fn effective<'a>(
    key: &str,
    app: &'a ConfigOptions,
    inherited: Option<&'a ConfigOptions>,
) -> Option<&'a str> {
    app.last(key)
        .or_else(|| inherited.and_then(|i| i.last(key)))
}

pub fn check(
    facts: &NamespaceFacts,
    inherited: Option<&ConfigOptions>,
    findings: &mut Vec<Finding>,
) {
    for instance in &facts.discovery.instances {
        let name = &instance.spec.name;
        let (Some(pid), Some(app)) = (facts.running.get(name), facts.options.get(name)) else {
            continue;
        };
        let mode = effective("chmod-socket", app, inherited).and_then(wanted_mode);
        let owner = effective("chown-socket", app, inherited).and_then(wanted_owner);
        if mode.is_none() && owner.is_none() {
            continue;
        }
        let mut sockets: Vec<PathBuf> = Vec::new();
        for key in SOCKET_OPTIONS {
            let values = inherited
                .into_iter()
                .flat_map(|i| i.all(key))
                .chain(app.all(key));
            for v in values {
                let Some(v) = expand(v, &instance.spec) else {
                    continue;
                };
                if v.contains(':') || v.starts_with('@') || !v.starts_with('/') {
                    continue;
                }
                if !sockets.iter().any(|s| s.as_os_str() == v.as_str()) {
                    sockets.push(PathBuf::from(v));
                }
            }
        }
        let shown = display_name(name);
        for socket in sockets {
            let Ok(meta) = socket.symlink_metadata() else {
                continue;
            };
            if !meta.file_type().is_socket() {
                continue;
            }
            let mut wrong = Vec::new();
            if let Some(m) = mode {
                let have = meta.mode() & 0o7777;
                if have != m {
                    wrong.push(format!("mode {have:04o} instead of {m:04o} (chmod-socket)"));
                }
            }
            if let Some((uid, gid)) = owner {
                if meta.uid() != uid || gid.is_some_and(|g| g != meta.gid()) {
                    wrong.push(format!(
                        "owner {}:{} instead of {}{} (chown-socket)",
                        meta.uid(),
                        meta.gid(),
                        uid,
                        gid.map(|g| format!(":{g}")).unwrap_or_default()
                    ));
                }
            }
            if !wrong.is_empty() {
                findings.push(Finding {
                    severity: Severity::Warning,
                    check: "socket-permissions",
                    subject: super::Subject::Path(socket.clone()),
                    app: Some(instance.spec.clone()),
                    message: format!(
                        "the socket of app {shown} (pid {pid}) has {}; clients such as the web \
                         server may get `Permission denied`",
                        wrong.join(" and ")
                    ),
                    hint: format!(
                        "restart the app (`service uwsgi restart {shown}`) so that uWSGI binds \
                         {} again with its own settings",
                        display_path(&socket)
                    ),
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::name::Namespace;

    #[test]
    fn expands_debian_placeholders_only() {
        let spec = Confspec::new(Namespace::app(), "site").unwrap();
        assert_eq!(
            expand(
                "/run/uwsgi/%(deb-confnamespace)/%(deb-confname)/socket",
                &spec
            )
            .as_deref(),
            Some("/run/uwsgi/app/site/socket")
        );
        assert_eq!(
            expand("/run/%n.sock", &spec).as_deref(),
            Some("/run/site.sock")
        );
        assert_eq!(expand("/run/%(other)/s", &spec), None);
    }

    #[test]
    fn modes_and_owners() {
        assert_eq!(wanted_mode("660"), Some(0o660));
        assert_eq!(wanted_mode(""), Some(0o666));
        assert_eq!(wanted_mode("rw"), None);
        assert_eq!(wanted_mode("99999"), None);
        assert_eq!(wanted_owner("root"), Some((0, None)));
        assert_eq!(wanted_owner("33:33"), Some((33, Some(33))));
        assert_eq!(wanted_owner("www-data:www-data"), Some((33, Some(33))));
        assert_eq!(wanted_owner("no-such-user-here"), None);
    }
}
