//! The service operations, listed once. The init script's parser and its
//! usage line, the verbs of Debian's progress line, the modern commands'
//! words and the completions all come from here: a new operation is one
//! new variant, and the compiler then points at every `match` to extend.

/// What a service command does to its instances.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Start,
    Stop,
    Status,
    Restart,
    Reload,
    ForceReload,
}

impl Operation {
    /// In the order of Debian's usage line.
    pub const ALL: [Operation; 6] = [
        Operation::Start,
        Operation::Stop,
        Operation::Status,
        Operation::Restart,
        Operation::Reload,
        Operation::ForceReload,
    ];

    /// The word on the command line (`force-reload`).
    pub fn name(self) -> &'static str {
        match self {
            Operation::Start => "start",
            Operation::Stop => "stop",
            Operation::Status => "status",
            Operation::Restart => "restart",
            Operation::Reload => "reload",
            Operation::ForceReload => "force-reload",
        }
    }

    /// The operation a command-line word names.
    pub fn parse(word: &str) -> Option<Operation> {
        Operation::ALL.into_iter().find(|op| op.name() == word)
    }

    /// The verb of Debian's progress line (`Forced reloading app
    /// server(s): uwsgi`).
    pub fn initd_verb(self) -> &'static str {
        match self {
            Operation::Start => "Starting",
            Operation::Stop => "Stopping",
            Operation::Status => "Checking",
            Operation::Restart => "Restarting",
            Operation::Reload => "Reloading",
            Operation::ForceReload => "Forced reloading",
        }
    }

    /// What a successful instance is now (`started`, `force-reloaded`).
    pub fn past(self) -> &'static str {
        match self {
            Operation::Start => "started",
            Operation::Stop => "stopped",
            Operation::Status => "running",
            Operation::Restart => "restarted",
            Operation::Reload => "reloaded",
            Operation::ForceReload => "force-reloaded",
        }
    }

    /// Debian's usage line of the init script (on stderr, exit 3).
    pub fn initd_usage() -> String {
        let words: Vec<&str> = Operation::ALL.iter().map(|op| op.name()).collect();
        format!("Usage: /etc/init.d/uwsgi {{{}}}", words.join("|"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_word_parses_back_and_the_usage_is_debians() {
        for op in Operation::ALL {
            assert_eq!(Operation::parse(op.name()), Some(op));
        }
        assert_eq!(Operation::parse("bogus"), None);
        assert_eq!(Operation::parse("Start"), None);
        assert_eq!(
            Operation::initd_usage(),
            "Usage: /etc/init.d/uwsgi {start|stop|status|restart|reload|force-reload}"
        );
        assert_eq!(Operation::ForceReload.initd_verb(), "Forced reloading");
    }
}
