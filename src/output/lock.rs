//! One writer per folder: `convert`, `extract` and `package` hold `.sfhq-pack.lock` in the
//! folder they change, created with `O_EXCL` so that of two runs exactly one gets it. The
//! file names the holder (process, host, command, start) so that a refused run can say who
//! is writing, and so that a lock left by a process that no longer runs (kill -9, power
//! loss) is recognised as stale and taken over.

use std::fs;
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

pub(crate) const LOCK_FILE: &str = ".sfhq-pack.lock";

/// Who holds a lock: written into the lock file as JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Holder {
    pub pid: u32,
    pub host: String,
    pub command: String,
    /// Seconds since the Unix epoch.
    pub started: u64,
    /// The process's start time in clock ticks after boot (`/proc/PID/stat` field 22):
    /// tells a live holder from a new process that happens to reuse its pid.
    #[serde(default)]
    pub start_ticks: Option<u64>,
}

impl Holder {
    fn this_process(command: &str) -> Holder {
        let pid = std::process::id();
        Holder {
            pid,
            host: host_name(),
            command: command.to_string(),
            started: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
            start_ticks: start_ticks(pid),
        }
    }

    /// Whether the holder is known to have ended: same host, and its pid no longer runs
    /// the process that took the lock. A holder on another host is assumed alive.
    fn has_ended(&self) -> bool {
        if self.host != host_name() || !Path::new("/proc/self/stat").exists() {
            return false;
        }
        match start_ticks(self.pid) {
            None => true,
            Some(now) => self.start_ticks.is_some_and(|then| then != now),
        }
    }

    fn describe(&self) -> String {
        format!(
            "`sfhq-pack {}` (pid {} on {}, started {})",
            self.command,
            self.pid,
            self.host,
            crate::manifest::rfc3339(self.started as i64)
        )
    }
}

/// Why a lock could not be taken.
#[derive(Debug, thiserror::Error)]
pub(crate) enum LockError {
    #[error("{}: another run is writing this folder: {}; wait for it to end, or stop it (Ctrl-C) and run again", folder.display(), holder.describe())]
    Held { folder: PathBuf, holder: Holder },
    #[error("{}: the folder is locked by a file this sfhq-pack cannot read ({reason}); if no sfhq-pack run is writing this folder, remove {} and run again", folder.display(), LOCK_FILE)]
    Unreadable { folder: PathBuf, reason: String },
    #[error("{}: cannot create the lock file", folder.display())]
    Io {
        folder: PathBuf,
        source: std::io::Error,
    },
}

/// A held lock; dropping it removes the lock file (when it is still ours).
#[derive(Debug)]
pub(crate) struct Lock {
    path: PathBuf,
    holder: Holder,
    /// Set when a stale lock was taken over: the earlier holder, for the run to report.
    pub took_over: Option<Holder>,
}

impl Lock {
    /// Takes the lock of `folder` (which must exist) for `command`.
    pub(crate) fn acquire(folder: &Path, command: &str) -> Result<Lock, LockError> {
        let path = folder.join(LOCK_FILE);
        let holder = Holder::this_process(command);
        let text = serde_json::to_string(&holder).expect("a holder serialises");
        let mut took_over = None;
        // Two attempts: the second after removing a stale lock.
        for _ in 0..2 {
            match fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
            {
                Ok(mut file) => {
                    file.write_all(text.as_bytes())
                        .and_then(|()| file.sync_all())
                        .map_err(|source| LockError::Io {
                            folder: folder.to_path_buf(),
                            source,
                        })?;
                    return Ok(Lock {
                        path,
                        holder,
                        took_over,
                    });
                }
                Err(e) if e.kind() == ErrorKind::AlreadyExists => {
                    let other = read_holder(&path).map_err(|reason| LockError::Unreadable {
                        folder: folder.to_path_buf(),
                        reason,
                    })?;
                    if !other.has_ended() || took_over.is_some() {
                        return Err(LockError::Held {
                            folder: folder.to_path_buf(),
                            holder: other,
                        });
                    }
                    // The holder is gone: its lock is stale. Removing it races with
                    // another run doing the same; create_new above settles who wins.
                    let _ = fs::remove_file(&path);
                    took_over = Some(other);
                }
                Err(source) => {
                    return Err(LockError::Io {
                        folder: folder.to_path_buf(),
                        source,
                    })
                }
            }
        }
        unreachable!("the loop returns on its second attempt")
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        // Only our own lock: never one another run took over after ours was judged stale.
        if read_holder(&self.path).is_ok_and(|h| h == self.holder) {
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// The holder of the lock in `folder`, if another process holds it (for `verify` to
/// report; `package` verifies a folder it holds itself).
pub(crate) fn current_holder(folder: &Path) -> Option<String> {
    let path = folder.join(LOCK_FILE);
    match read_holder(&path) {
        Ok(holder) if holder.pid == std::process::id() && holder.host == host_name() => None,
        Ok(holder) if !holder.has_ended() => Some(holder.describe()),
        Ok(_) => None,
        Err(_) if path.exists() => Some(format!("an unreadable {LOCK_FILE}")),
        Err(_) => None,
    }
}

fn read_holder(path: &Path) -> Result<Holder, String> {
    // A lock file is a few hundred bytes; more is not ours.
    let bytes = fs::read(path).map_err(|e| e.to_string())?;
    if bytes.len() > 4096 {
        return Err("it is larger than a lock file".to_string());
    }
    serde_json::from_slice(&bytes).map_err(|e| format!("not a sfhq-pack lock: {e}"))
}

fn host_name() -> String {
    fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| fs::read_to_string("/etc/hostname"))
        .map(|s| s.trim().to_string())
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "unknown-host".to_string())
}

/// Field 22 of `/proc/PID/stat` (start time in clock ticks); `None` when no such process.
fn start_ticks(pid: u32) -> Option<u64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces: count after it.
    let after_name = &stat[stat.rfind(')')? + 1..];
    after_name.split_whitespace().nth(19)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_is_refused_naming_the_holder_and_released_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let first = Lock::acquire(dir.path(), "convert").unwrap();
        let err = Lock::acquire(dir.path(), "extract").unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("another run is writing this folder"),
            "{text}"
        );
        assert!(
            text.contains(&format!("pid {}", std::process::id())),
            "{text}"
        );
        assert!(text.contains("sfhq-pack convert"), "{text}");
        drop(first);
        assert!(!dir.path().join(LOCK_FILE).exists());
        let again = Lock::acquire(dir.path(), "extract").unwrap();
        assert!(again.took_over.is_none());
    }

    #[test]
    fn a_lock_whose_process_ended_is_taken_over() {
        let dir = tempfile::tempdir().unwrap();
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        let stale = Holder {
            pid,
            host: host_name(),
            command: "convert".to_string(),
            started: 1,
            start_ticks: Some(1),
        };
        fs::write(
            dir.path().join(LOCK_FILE),
            serde_json::to_string(&stale).unwrap(),
        )
        .unwrap();
        let lock = Lock::acquire(dir.path(), "convert").unwrap();
        assert_eq!(lock.took_over.as_ref().map(|h| h.pid), Some(pid));
    }

    #[test]
    fn a_lock_held_on_another_host_or_unreadable_is_not_taken() {
        let dir = tempfile::tempdir().unwrap();
        let elsewhere = Holder {
            pid: 1,
            host: "another-host.example".to_string(),
            command: "convert".to_string(),
            started: 1,
            start_ticks: None,
        };
        let path = dir.path().join(LOCK_FILE);
        fs::write(&path, serde_json::to_string(&elsewhere).unwrap()).unwrap();
        assert!(matches!(
            Lock::acquire(dir.path(), "convert"),
            Err(LockError::Held { .. })
        ));
        fs::write(&path, b"garbage").unwrap();
        let err = Lock::acquire(dir.path(), "convert").unwrap_err();
        assert!(matches!(err, LockError::Unreadable { .. }));
        assert!(path.exists(), "an unreadable lock is never removed");
    }

    #[test]
    fn start_ticks_reads_this_process() {
        assert!(start_ticks(std::process::id()).is_some());
    }
}
