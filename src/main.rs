fn main() {
    std::process::exit(uwsgi_apps::run(std::env::args_os().collect()));
}
