//! Property tests for the pure logic: discovery order and the clash rule,
//! display sanitising, name and confspec parsing, exit-status merging, and
//! the small parsers doctor uses on `/proc` and pidfiles.

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::fs;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::PathBuf;

use proptest::prelude::*;

use uwsgi_apps::discovery;
use uwsgi_apps::display::{display_name, sanitize};
use uwsgi_apps::doctor::{self, procfs, Finding, Severity};
use uwsgi_apps::exit::{ExitStatus, LsbStatus};
use uwsgi_apps::layout::Layout;
use uwsgi_apps::name::{Confspec, Format, Namespace};
use uwsgi_apps::process::pidfile;

fn no_control(s: &str) -> bool {
    !s.chars().any(char::is_control)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn sanitize_never_emits_a_control_character(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        let s = OsString::from_vec(bytes);
        prop_assert!(no_control(&sanitize(&s)));
        prop_assert!(no_control(&display_name(&s)));
    }

    #[test]
    fn a_rendered_finding_is_two_clean_lines(
        path in proptest::collection::vec(any::<u8>(), 0..40),
        message in any::<String>(),
        hint in any::<String>(),
    ) {
        let f = Finding::path(
            Severity::Warning,
            "t",
            PathBuf::from(OsString::from_vec(path)),
            None,
            message,
            hint,
        );
        let text = uwsgi_apps::output::doctor::render_human(&f);
        let lines: Vec<&str> = text.split('\n').collect();
        prop_assert_eq!(lines.len(), 2);
        prop_assert!(lines.iter().all(|l| no_control(l)), "{:?}", text);
    }

    #[test]
    fn confspecs_parse_or_refuse_and_never_escape(bytes in proptest::collection::vec(any::<u8>(), 0..24)) {
        let spec = OsString::from_vec(bytes.clone());
        if let Ok(c) = Confspec::parse(&spec) {
            let name = c.name.as_bytes();
            prop_assert!(!name.is_empty() && name != b"." && name != b"..");
            prop_assert!(!name.contains(&b'/') && !name.contains(&0));
            let ns = c.namespace.as_os_str().as_bytes();
            prop_assert!(!ns.is_empty() && ns != b"." && ns != b".." && !ns.contains(&b'/'));
            // Nothing is lost or invented: the parts rebuild the input.
            let rebuilt = if bytes.contains(&b'/') {
                [ns, b"/", name].concat()
            } else {
                prop_assert!(c.namespace.is_default());
                name.to_vec()
            };
            prop_assert_eq!(rebuilt, bytes);
            prop_assert!(no_control(&c.to_string()));
        }
    }

    #[test]
    fn file_names_split_back_into_confname_and_extension(
        name in "[^/\0]{1,12}",
        fmt in proptest::sample::select(Format::ALL.to_vec()),
        upper in any::<bool>(),
    ) {
        let ext = if upper { fmt.extension().to_uppercase() } else { fmt.extension().to_string() };
        let file = format!("{name}.{ext}");
        let (confname, got) = Format::split_file_name(OsStr::new(&file)).unwrap();
        prop_assert_eq!(confname, OsStr::new(&name));
        prop_assert_eq!(got, fmt);
    }

    #[test]
    fn exit_merging_is_the_worst_in_any_order(items in proptest::collection::vec(0u8..3, 0..12)) {
        let to = |i: u8| match i { 0 => ExitStatus::Success, 1 => ExitStatus::Failure, _ => ExitStatus::Usage };
        let statuses: Vec<ExitStatus> = items.iter().map(|&i| to(i)).collect();
        let merged = ExitStatus::merge_all(statuses.clone());
        let worst = statuses.iter().copied().max().unwrap_or(ExitStatus::Success);
        prop_assert_eq!(merged, worst);
        let mut reversed = statuses.clone();
        reversed.reverse();
        prop_assert_eq!(ExitStatus::merge_all(reversed), merged);
        // Merging in two halves gives the same: the merge is associative.
        let (a, b) = statuses.split_at(statuses.len() / 2);
        prop_assert_eq!(
            ExitStatus::merge_all(a.to_vec()).merge(ExitStatus::merge_all(b.to_vec())),
            merged
        );
    }

    #[test]
    fn lsb_merging_is_4_over_1_over_3_over_0(items in proptest::collection::vec(0u8..4, 0..12)) {
        let to = |i: u8| match i {
            0 => LsbStatus::Running,
            1 => LsbStatus::DeadPidfileExists,
            2 => LsbStatus::NotRunning,
            _ => LsbStatus::Unknown,
        };
        let rank = |s: LsbStatus| match s {
            LsbStatus::Running => 0,
            LsbStatus::NotRunning => 1,
            LsbStatus::DeadPidfileExists => 2,
            LsbStatus::Unknown => 3,
        };
        let statuses: Vec<LsbStatus> = items.iter().map(|&i| to(i)).collect();
        let merged = LsbStatus::merge_all(statuses.clone());
        let worst = statuses.iter().copied().max_by_key(|&s| rank(s)).unwrap_or(LsbStatus::Running);
        prop_assert_eq!(merged, worst);
        let mut reversed = statuses;
        reversed.reverse();
        prop_assert_eq!(LsbStatus::merge_all(reversed), merged);
    }

    #[test]
    fn doctor_fails_exactly_when_a_finding_is_an_error(sev in proptest::collection::vec(0u8..3, 0..10)) {
        let to = |i: u8| match i { 0 => Severity::Info, 1 => Severity::Warning, _ => Severity::Error };
        let findings: Vec<Finding> = sev
            .iter()
            .map(|&s| Finding::path(to(s), "t", "/x", None, "m", "h"))
            .collect();
        let expected = if sev.contains(&2) { ExitStatus::Failure } else { ExitStatus::Success };
        prop_assert_eq!(doctor::exit_status(&findings), expected);
    }

    #[test]
    fn proc_and_pidfile_parsers_take_anything(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = procfs::parse_status(&String::from_utf8_lossy(&bytes));
        let args = procfs::split_cmdline(&bytes);
        let _ = procfs::config_argument(&args);
        if let Some(pid) = pidfile::parse(&bytes).pid() {
            prop_assert!(pid > 0);
        }
    }
}

/// One file in the generated `apps-enabled` tree.
#[derive(Debug, Clone)]
struct Entry {
    dirs: Vec<&'static str>,
    confname: &'static str,
    format: Format,
}

fn entry() -> impl Strategy<Value = Entry> {
    (
        proptest::collection::vec(proptest::sample::select(vec!["a", "b"]), 0..3),
        proptest::sample::select(vec!["x", "y", "z"]),
        proptest::sample::select(Format::ALL.to_vec()),
    )
        .prop_map(|(dirs, confname, format)| Entry {
            dirs,
            confname,
            format,
        })
}

proptest! {
    // Each case builds a real tree on disk: fewer cases, still many shapes.
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn discovery_picks_shallowest_then_earliest_extension_whatever_the_order(
        entries in proptest::collection::vec(entry(), 1..10),
        seed in any::<u64>(),
    ) {
        let mut results = Vec::new();
        // The same tree, created in two different orders, must give the
        // same answer: the kernel's listing order must never matter.
        for round in 0..2 {
            let dir = tempfile::tempdir().unwrap();
            let layout = Layout::new(dir.path(), "/usr/bin/uwsgi");
            let ns = Namespace::app();
            let en = layout.enabled_dir(&ns);
            fs::create_dir_all(&en).unwrap();
            let mut order: Vec<&Entry> = entries.iter().collect();
            if round == 1 {
                order.reverse();
                let n = order.len();
                order.rotate_left((seed as usize) % n);
            }
            let mut expected: BTreeMap<&str, Vec<(usize, Format, PathBuf)>> = BTreeMap::new();
            for e in order {
                let mut p = en.clone();
                for d in &e.dirs {
                    p.push(d);
                }
                fs::create_dir_all(&p).unwrap();
                p.push(format!("{}.{}", e.confname, e.format.extension()));
                if p.exists() {
                    continue;
                }
                fs::write(&p, "[uwsgi]\n").unwrap();
                expected
                    .entry(e.confname)
                    .or_default()
                    .push((e.dirs.len() + 1, e.format, p.strip_prefix(&en).unwrap().to_path_buf()));
            }
            let found = discovery::enabled(&layout, &ns).unwrap();
            prop_assert!(found.errors.is_empty());
            prop_assert_eq!(found.instances.len(), expected.len());
            for (name, mut candidates) in expected {
                candidates.sort();
                let winner = found.find(OsStr::new(name)).unwrap();
                prop_assert_eq!(winner.path.strip_prefix(&en).unwrap(), candidates[0].2.as_path());
                prop_assert_eq!(winner.depth, candidates[0].0);
                let clash = found.clashes.iter().find(|c| c.spec.name == name);
                if candidates.len() == 1 {
                    prop_assert!(clash.is_none());
                } else {
                    let clash = clash.unwrap();
                    let losers: Vec<PathBuf> = clash
                        .losers
                        .iter()
                        .map(|l| l.strip_prefix(&en).unwrap().to_path_buf())
                        .collect();
                    let want: Vec<PathBuf> = candidates[1..].iter().map(|c| c.2.clone()).collect();
                    prop_assert_eq!(losers, want);
                }
            }
            results.push(
                found
                    .instances
                    .iter()
                    .map(|i| i.path.strip_prefix(&en).unwrap().to_path_buf())
                    .collect::<Vec<_>>(),
            );
        }
        prop_assert_eq!(&results[0], &results[1]);
    }
}
