//! The committed completions, loaded in the real shells (bash with and
//! without bash-completion, zsh, fish, from Debian's packages), asked for
//! completions of a command line against a temporary --root tree.
//!
//! The binary is put on the PATH under its four names, as the package
//! installs it, because the completions call `uwsgi-apps complete-names`.

use std::ffi::OsString;
use std::fs;
use std::os::unix::fs::symlink;
use std::path::PathBuf;
use std::process::Command;

struct Fixture {
    dir: tempfile::TempDir,
    root: PathBuf,
    path: OsString,
}

fn source_tree() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A root with three available apps (one with a space in its name), alpha
/// enabled, and a `vassal` namespace with one enabled app.
fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let etc = root.join("etc/uwsgi");
    for d in [
        "apps-available",
        "apps-enabled",
        "vassals-available",
        "vassals-enabled",
    ] {
        fs::create_dir_all(etc.join(d)).unwrap();
    }
    for f in ["alpha.ini", "beta.yaml", "with space.ini"] {
        fs::write(etc.join("apps-available").join(f), "[uwsgi]\n").unwrap();
    }
    fs::write(etc.join("vassals-available/mail.ini"), "[uwsgi]\n").unwrap();
    symlink(
        "../apps-available/alpha.ini",
        etc.join("apps-enabled/alpha.ini"),
    )
    .unwrap();
    symlink(
        "../vassals-available/mail.ini",
        etc.join("vassals-enabled/mail.ini"),
    )
    .unwrap();

    let bin = dir.path().join("bin");
    fs::create_dir(&bin).unwrap();
    let exe = assert_cmd::cargo::cargo_bin("uwsgi-apps");
    for name in ["uwsgi-apps", "uwsgi-enapp", "uwsgi-disapp", "uwsgi-query"] {
        symlink(&exe, bin.join(name)).unwrap();
    }
    let mut paths = vec![bin];
    if let Some(p) = std::env::var_os("PATH") {
        paths.extend(std::env::split_paths(&p));
    }
    let path = std::env::join_paths(paths).unwrap();
    fs::create_dir(dir.path().join("home")).unwrap();
    Fixture { dir, root, path }
}

impl Fixture {
    fn root(&self) -> &str {
        self.root.to_str().unwrap()
    }

    /// A shell with a clean environment: our PATH, a private HOME, none of
    /// the variables the program reads.
    fn shell(&self, program: &str) -> Command {
        let found = std::env::split_paths(&self.path).any(|d| d.join(program).is_file());
        assert!(found, "{program} is not installed (run scripts/deps.sh)");
        let home = self.dir.path().join("home");
        let mut cmd = Command::new(program);
        cmd.env_clear()
            .env("PATH", &self.path)
            .env("HOME", &home)
            .env("XDG_CONFIG_HOME", home.join(".config"))
            .env("XDG_DATA_HOME", home.join(".local/share"))
            .env("TERM", "dumb")
            .env("LANG", "C.UTF-8")
            .current_dir(self.dir.path());
        cmd
    }
}

fn stdout(mut cmd: Command) -> String {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{:?} failed: {}\n{}",
        cmd,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The blocks of a transcript: `== LABEL` then one candidate per line.
fn block<'a>(transcript: &'a str, label: &str) -> Vec<&'a str> {
    let start = format!("== {label}\n");
    let Some(at) = transcript.find(&start) else {
        panic!("no block {label} in:\n{transcript}");
    };
    transcript[at + start.len()..]
        .lines()
        .take_while(|l| !l.starts_with("== "))
        .filter(|l| !l.is_empty())
        .collect()
}

fn sorted(mut v: Vec<&str>) -> Vec<&str> {
    v.sort();
    v
}

const BASH_ASK: &str = r#"
ask() {
    local label=$1 fn=$2
    shift 2
    COMP_WORDS=("$@")
    COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
    COMP_LINE="$*"
    COMP_POINT=${#COMP_LINE}
    COMPREPLY=()
    "$fn" "${COMP_WORDS[0]}" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
    echo "== $label"
    printf '%s\n' "${COMPREPLY[@]}"
}
"#;

#[test]
fn bash_completes_options_subcommands_and_names_under_the_root() {
    let f = fixture();
    let file = source_tree().join("completions/bash/uwsgi-apps");
    let script = format!(
        r#"{BASH_ASK}
source {file}
R={root}
ask enapp _uwsgi_apps uwsgi-enapp --root "$R" ""
ask enapp-a _uwsgi_apps uwsgi-enapp --root "$R" a
ask disapp _uwsgi_apps uwsgi-disapp --root "$R" ""
ask sub _uwsgi_apps uwsgi-apps --root "$R" st
ask stop _uwsgi_apps uwsgi-apps --root "$R" stop ""
ask initd _uwsgi_apps uwsgi-apps --root "$R" initd ""
ask initd-start _uwsgi_apps uwsgi-apps --root "$R" initd start ""
ask query-second _uwsgi_apps uwsgi-query --root "$R" alpha ""
ask options _uwsgi_apps uwsgi-disapp --p
UWSGI_APPS_ROOT="$R" ask from-env _uwsgi_apps uwsgi-enapp w
"#,
        file = file.display(),
        root = f.root()
    );
    let mut bash = f.shell("bash");
    bash.args(["--norc", "--noprofile", "-c", &script]);
    let out = stdout(bash);
    assert_eq!(
        sorted(block(&out, "enapp")),
        ["alpha", "beta", "vassal/mail", "with\\ space"]
    );
    assert_eq!(block(&out, "enapp-a"), ["alpha"]);
    assert_eq!(sorted(block(&out, "disapp")), ["alpha", "vassal/mail"]);
    assert_eq!(sorted(block(&out, "sub")), ["start", "status", "stop"]);
    assert_eq!(sorted(block(&out, "stop")), ["alpha", "vassal/mail"]);
    assert_eq!(
        block(&out, "initd"),
        // The service operations, in the order of Debian's usage line.
        [
            "start",
            "stop",
            "status",
            "restart",
            "reload",
            "force-reload"
        ]
    );
    assert_eq!(sorted(block(&out, "initd-start")), ["alpha", "vassal/mail"]);
    assert!(block(&out, "query-second").is_empty());
    assert_eq!(block(&out, "options"), ["--purge"]);
    assert_eq!(block(&out, "from-env"), ["with\\ space"]);
}

#[test]
fn bash_completion_loads_it_on_demand_and_completes_service_uwsgi() {
    let f = fixture();
    // bash-completion finds completions by command name in
    // $BASH_COMPLETION_USER_DIR/completions, as it does in
    // /usr/share/bash-completion/completions where the package puts them.
    let user_dir = f.dir.path().join("bash-completion");
    fs::create_dir_all(user_dir.join("completions")).unwrap();
    let main = source_tree().join("completions/bash/uwsgi-apps");
    for name in ["uwsgi-apps", "uwsgi-enapp", "uwsgi-disapp", "uwsgi-query"] {
        symlink(&main, user_dir.join("completions").join(name)).unwrap();
    }
    let hook = source_tree().join("completions/bash/uwsgi-apps-service");
    let script = format!(
        r#"{BASH_ASK}
source /usr/share/bash-completion/bash_completion
source {hook}
_completion_loader uwsgi-disapp
echo "== spec"
complete -p uwsgi-disapp
ask disapp _uwsgi_apps uwsgi-disapp --root={root} ""
export UWSGI_APPS_ROOT={root}
service_fn=$(complete -p service | sed 's/.*-F \([^ ]*\) .*/\1/')
echo "== service-fn"
echo "$service_fn"
ask service-command "$service_fn" service uwsgi ""
ask service-names "$service_fn" service uwsgi restart ""
ask service-more "$service_fn" service uwsgi stop alpha v
"#,
        hook = hook.display(),
        root = f.root()
    );
    let mut bash = f.shell("bash");
    bash.env("BASH_COMPLETION_USER_DIR", &user_dir)
        .args(["--norc", "--noprofile", "-c", &script]);
    let out = stdout(bash);
    assert_eq!(
        block(&out, "spec"),
        ["complete -F _uwsgi_apps uwsgi-disapp"]
    );
    assert_eq!(sorted(block(&out, "disapp")), ["alpha", "vassal/mail"]);
    assert_eq!(block(&out, "service-fn"), ["_uwsgi_apps_service"]);
    assert_eq!(
        block(&out, "service-command"),
        // The service operations, in the order of Debian's usage line.
        [
            "start",
            "stop",
            "status",
            "restart",
            "reload",
            "force-reload"
        ]
    );
    assert_eq!(
        sorted(block(&out, "service-names")),
        ["alpha", "vassal/mail"]
    );
    assert_eq!(block(&out, "service-more"), ["vassal/mail"]);
}

/// Ask an interactive zsh in a pseudo-terminal (zpty) to complete LINE with
/// the committed completion in its fpath, and collect every candidate that
/// reaches compadd.
fn zsh_complete(f: &Fixture, line: &str, env_root: bool) -> Vec<String> {
    let hits = f.dir.path().join(format!("zsh-hits-{}", line.len()));
    let _ = fs::remove_file(&hits);
    let fpath = source_tree().join("completions/zsh");
    let script = format!(
        r#"zmodload zsh/zpty
zpty z zsh -f -i
zpty -w z "PS1=''; fpath=({fpath} \$fpath); autoload -Uz compinit; compinit -u -D -d {dump}"
zpty -w z 'compadd () {{ local -a __hits; builtin compadd -O __hits "$@"; (( $#__hits )) && print -rl -- $__hits >> {hits}; builtin compadd "$@" }}'
zpty -w z 'comppostfuncs=(__done); __done() {{ print -r -- "<END>" >> {hits} }}'
zpty -w z "bindkey '^I' complete-word"
zpty -n -w z {line}$'\t'
for i in {{1..1200}}; do  # up to 60 s: a loaded CI machine is slow to run compinit
  [[ -f {hits} ]] && grep -q '<END>' {hits} && break
  sleep 0.05
done
zpty -d z
"#,
        fpath = fpath.display(),
        hits = hits.display(),
        // Never /dev/null: compinit writes its dump with mv, which would
        // replace /dev/null by a regular file for the whole machine (and
        // uWSGI then fails to open it after dropping privileges).
        dump = f.dir.path().join("zcompdump").display(),
        line = shell_quote(line),
    );
    let mut zsh = f.shell("zsh");
    if env_root {
        zsh.env("UWSGI_APPS_ROOT", &f.root);
    }
    zsh.args(["-f", "-c", &script]);
    let _ = stdout(zsh);
    let text = fs::read_to_string(&hits).unwrap_or_default();
    assert!(
        text.contains("<END>"),
        "zsh never finished completing {line:?}"
    );
    let mut found: Vec<String> = text
        .lines()
        .filter(|l| *l != "<END>")
        .map(str::to_owned)
        .collect();
    found.sort();
    found.dedup();
    found
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

#[test]
fn zsh_completes_names_under_the_root_and_after_service_uwsgi() {
    let f = fixture();
    let r = f.root();
    assert_eq!(
        zsh_complete(&f, &format!("uwsgi-enapp --root {r} "), false),
        ["alpha", "beta", "vassal/mail", "with space"]
    );
    assert_eq!(
        zsh_complete(&f, &format!("uwsgi-disapp --root={r} "), false),
        ["alpha", "vassal/mail"]
    );
    assert_eq!(
        zsh_complete(&f, &format!("uwsgi-apps --root {r} sto"), false),
        ["stop"]
    );
    assert_eq!(
        zsh_complete(&f, &format!("uwsgi-apps --root {r} stop "), false),
        ["alpha", "vassal/mail"]
    );
    assert_eq!(
        zsh_complete(&f, &format!("uwsgi-apps --root {r} initd start "), false),
        ["alpha", "vassal/mail"]
    );
    assert_eq!(zsh_complete(&f, "uwsgi-enapp --dry", false), ["--dry-run"]);
    assert_eq!(zsh_complete(&f, "uwsgi-enapp w", true), ["with space"]);
    assert_eq!(
        zsh_complete(&f, "service uwsgi re", true),
        ["reload", "restart"]
    );
    assert_eq!(
        zsh_complete(&f, "service uwsgi restart ", true),
        ["alpha", "vassal/mail"]
    );
}

fn fish_transcript(f: &Fixture, commands: &str) -> String {
    let dir = source_tree().join("completions/fish");
    let script = format!(
        "set -p fish_complete_path {dir}\nset -p fish_function_path {dir}/functions\n\
         source {dir}/conf.d/uwsgi-apps-service.fish\n{commands}",
        dir = dir.display()
    );
    let mut fish = f.shell("fish");
    fish.args(["--no-config", "-c", &script]);
    stdout(fish)
}

/// fish prints `candidate<TAB>description`; keep the candidates.
fn candidates<'a>(out: &'a str, label: &str) -> Vec<&'a str> {
    sorted(
        block(out, label)
            .into_iter()
            .map(|l| l.split('\t').next().unwrap_or(l))
            .collect(),
    )
}

#[test]
fn fish_loads_each_command_file_and_completes_names_and_service_uwsgi() {
    let f = fixture();
    let commands = format!(
        r#"set R {root}
echo '== enapp'; complete -C "uwsgi-enapp --root $R "
echo '== disapp'; complete -C "uwsgi-disapp --root=$R "
echo '== query'; complete -C "uwsgi-query --root $R "
echo '== query-second'; complete -C "uwsgi-query --root $R alpha "
echo '== sub'; complete -C "uwsgi-apps --root $R st"
echo '== stop'; complete -C "uwsgi-apps --root $R stop "
echo '== stop-options'; complete -C "uwsgi-apps --root $R stop --t"
echo '== initd'; complete -C "uwsgi-apps --root $R initd "
echo '== initd-start'; complete -C "uwsgi-apps --root $R initd start "
set -x UWSGI_APPS_ROOT $R
echo '== from-env'; complete -C "uwsgi-enapp w"
echo '== service-command'; complete -C "service uwsgi re"
echo '== service-names'; complete -C "service uwsgi restart "
"#,
        root = f.root()
    );
    let out = fish_transcript(&f, &commands);
    assert_eq!(
        candidates(&out, "enapp"),
        ["alpha", "beta", "vassal/mail", "with space"]
    );
    assert_eq!(candidates(&out, "disapp"), ["alpha", "vassal/mail"]);
    assert_eq!(
        candidates(&out, "query"),
        ["alpha", "beta", "vassal/mail", "with space"]
    );
    assert!(candidates(&out, "query-second").is_empty());
    assert_eq!(candidates(&out, "sub"), ["start", "status", "stop"]);
    assert_eq!(candidates(&out, "stop"), ["alpha", "vassal/mail"]);
    assert_eq!(candidates(&out, "stop-options"), ["--timeout"]);
    assert_eq!(
        candidates(&out, "initd"),
        [
            "force-reload",
            "reload",
            "restart",
            "start",
            "status",
            "stop"
        ]
    );
    assert_eq!(candidates(&out, "initd-start"), ["alpha", "vassal/mail"]);
    assert_eq!(candidates(&out, "from-env"), ["with space"]);
    assert_eq!(candidates(&out, "service-command"), ["reload", "restart"]);
    assert_eq!(candidates(&out, "service-names"), ["alpha", "vassal/mail"]);
}

#[test]
fn complete_names_prints_each_kind_one_per_line() {
    let f = fixture();
    for (kind, expected) in [
        ("available", "alpha\nbeta\nvassal/mail\nwith space\n"),
        ("enabled", "alpha\nvassal/mail\n"),
        ("confnames", "alpha\nvassal/mail\n"),
    ] {
        let mut c = f.shell("uwsgi-apps");
        c.args(["--root", f.root(), "complete-names", kind]);
        assert_eq!(stdout(c), expected, "{kind}");
    }
}
