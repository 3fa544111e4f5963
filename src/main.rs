fn main() {
    // An empty UWSGI_APPS_ROOT or UWSGI_APPS_DAEMON means "not set", as
    // shell users expect (`UWSGI_APPS_ROOT= uwsgi-enapp x`); clap would
    // reject it as a missing value, even with --root on the command line.
    // Done here, before any thread exists, since changing the environment
    // is only sound in a single-threaded process.
    for var in ["UWSGI_APPS_ROOT", "UWSGI_APPS_DAEMON"] {
        if std::env::var_os(var).is_some_and(|v| v.is_empty()) {
            std::env::remove_var(var);
        }
    }
    std::process::exit(uwsgi_apps::run(std::env::args_os().collect()));
}
