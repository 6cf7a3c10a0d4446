//! The output folder: what is ours (`ownership`), one writer at a time (`lock`), preparing
//! it, and writing files so that a reader never sees half of one (a hidden temporary beside
//! the target, synced, then renamed over it).
//!
//! A run that changes a folder does it in two steps: `check_target` before anything else
//! (reads only: is `--out` usable, and what is in it), then, after every check that can fail
//! has passed, `claim` (create, lock, remove the earlier output `--overwrite` replaces).
//! The claimed folder cleans up after a run that does not `finish`: our empty folders go,
//! and a folder the run created goes when nothing is left in it.

use std::fs;
use std::io::Write;
use std::path::Path;

use anyhow::Context;

pub(crate) mod journal;
pub(crate) mod lock;
pub(crate) mod ownership;

use lock::Lock;
use ownership::{survey, Survey};

/// Writes to a hidden temporary file beside `path`, syncs it, and renames it over `path`.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let name = path
        .file_name()
        .expect("output files have names")
        .to_string_lossy();
    let temp = path.with_file_name(format!(".{name}.partial"));
    let written = (|| -> anyhow::Result<()> {
        let mut file = fs::File::create(&temp)
            .with_context(|| format!("{}: cannot create", temp.display()))?;
        file.write_all(bytes)
            .and_then(|()| file.sync_all())
            .with_context(|| format!("{}: cannot write", temp.display()))?;
        fs::rename(&temp, path)
            .with_context(|| format!("{}: cannot rename to {}", temp.display(), path.display()))
    })();
    if written.is_err() {
        let _ = fs::remove_file(&temp);
    }
    written
}

/// Whether an error comes from a full disk (ENOSPC, or a quota: EDQUOT) anywhere in its chain.
pub(crate) fn is_disk_full(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause.downcast_ref::<std::io::Error>().is_some_and(|io| {
            io.kind() == std::io::ErrorKind::StorageFull
                || matches!(io.raw_os_error(), Some(28 | 122))
        }) || cause
            .downcast_ref::<crate::format::SinkError>()
            .is_some_and(|e| matches!(e, crate::format::SinkError::DiskFull { .. }))
    })
}

/// Whether an existing `--out` is an empty folder (a lock file aside); an error when it is
/// not a folder.
fn is_empty_folder(out: &Path) -> anyhow::Result<bool> {
    if !out.is_dir() {
        anyhow::bail!("{}: --out exists and is not a folder", out.display());
    }
    Ok(fs::read_dir(out)
        .with_context(|| format!("{}: cannot read output folder", out.display()))?
        .filter_map(Result::ok)
        .all(|e| e.file_name() == lock::LOCK_FILE))
}

/// A folder that receives plain files (`extract`), locked.
#[derive(Debug)]
pub(crate) struct PlainFolder {
    /// Whether this run created it (then an interrupted run removes it again).
    pub created: bool,
    lock: Option<Lock>,
}

impl PlainFolder {
    /// Releases the lock (before the folder itself is removed).
    pub(crate) fn release(&mut self) {
        drop(self.lock.take());
    }
}

/// Prepares a folder that receives plain files (`extract`): it may not exist yet (it is
/// created), may be empty, or with `overwrite` may hold files. Locked before the check,
/// so that a second run is told who is writing rather than that the folder is not empty.
pub(crate) fn prepare_plain_folder(
    out: &Path,
    overwrite: bool,
    command: &str,
) -> anyhow::Result<PlainFolder> {
    let created = match fs::symlink_metadata(out) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            fs::create_dir_all(out)
                .with_context(|| format!("{}: cannot create output folder", out.display()))?;
            true
        }
        Err(e) => {
            return Err(e).with_context(|| format!("{}: cannot read output folder", out.display()))
        }
        Ok(_) => false,
    };
    let give_back = |e: anyhow::Error| {
        if created {
            let _ = fs::remove_dir(out);
        }
        e
    };
    if !out.is_dir() {
        anyhow::bail!("{}: --out exists and is not a folder", out.display());
    }
    let lock = Lock::acquire(out, command).map_err(|e| give_back(e.into()))?;
    let is_empty = is_empty_folder(out)?;
    if !is_empty && !overwrite {
        drop(lock);
        anyhow::bail!(
            "{}: output folder is not empty; pass --overwrite to write into it anyway, or choose a new folder",
            out.display()
        );
    }
    Ok(PlainFolder {
        created,
        lock: Some(lock),
    })
}

/// Checks `--out` before any source is read: a missing folder is fine (created later), a
/// dangling link or a file is not; an existing folder is surveyed. Foreign files stop the
/// run (sfhq-pack never removes what it did not write); an earlier sfhq-pack output needs
/// `--overwrite`.
pub(crate) fn check_target(out: &Path, existing: Existing) -> anyhow::Result<Survey> {
    match fs::symlink_metadata(out) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Survey::default()),
        Err(e) => return Err(e).with_context(|| format!("{}: cannot read --out", out.display())),
        Ok(meta) if meta.file_type().is_symlink() && fs::metadata(out).is_err() => {
            anyhow::bail!(
                "{}: --out is a symbolic link to a folder that does not exist; create the folder it points to, or choose another --out",
                out.display()
            );
        }
        Ok(_) => {}
    }
    if !out.is_dir() {
        anyhow::bail!(
            "{}: --out exists and is not a folder; choose a folder",
            out.display()
        );
    }
    let found = survey(out)?;
    refuse_unless_replaceable(out, &found, existing)?;
    Ok(found)
}

/// What to do with an earlier output found in `--out`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Existing {
    /// Stop (the default): the user chooses.
    Refuse,
    /// `--overwrite`: remove what sfhq-pack can prove it wrote.
    Overwrite,
    /// `--resume`: keep an interrupted run's sealed shards and continue it.
    Resume,
}

fn refuse_unless_replaceable(out: &Path, found: &Survey, existing: Existing) -> anyhow::Result<()> {
    if !found.foreign.is_empty() {
        anyhow::bail!(
            "{}: --out holds {} file(s) sfhq-pack did not write, and it never removes or mixes its output with those:\n{}\n{}move them elsewhere or choose a new --out; nothing was written",
            out.display(),
            found.foreign.len(),
            found.foreign_list(),
            found
                .manifest_problem
                .as_ref()
                .map(|p| format!("({p})\n"))
                .unwrap_or_default()
        );
    }
    if existing != Existing::Refuse || found.is_empty() {
        return Ok(());
    }
    if let Some(journal) = &found.journal {
        anyhow::bail!(
            "{}: --out holds an interrupted sfhq-pack run ({} shard(s) sealed); pass --resume to continue it, or --overwrite to start again",
            out.display(),
            journal.sealed.len()
        );
    }
    match &found.previous {
        Some(previous) => anyhow::bail!(
            "{}: --out holds an earlier sfhq-pack output ({} rows in {} shard(s)); pass --overwrite to replace it, or choose a new folder",
            out.display(),
            previous.rows,
            previous.shards.len()
        ),
        None => anyhow::bail!(
            "{}: --out holds the leftovers of an interrupted sfhq-pack run ({} file(s)), from before it recorded anything to resume; pass --overwrite to start again, or choose a new folder",
            out.display(),
            found.ours.len() + found.temporaries.len()
        ),
    }
}

/// An output folder held by this run.
#[derive(Debug)]
pub(crate) struct OutputFolder {
    path: std::path::PathBuf,
    created: bool,
    lock: Option<Lock>,
    finished: bool,
    /// The earlier holder of a stale lock this run took over, for the run to mention.
    pub took_over: Option<String>,
}

impl OutputFolder {
    /// Creates the folder if needed and locks it; then, under the lock, checks it again
    /// (another run may have written meanwhile) and removes our hidden temporaries and,
    /// with `overwrite`, the earlier output sfhq-pack can prove it wrote.
    /// With `Existing::Resume` nothing is removed here: the survey goes back to the caller,
    /// which keeps what the journal vouches for.
    pub(crate) fn claim(
        out: &Path,
        existing: Existing,
        command: &str,
    ) -> anyhow::Result<(Self, Survey)> {
        let created = !out.exists();
        if created {
            fs::create_dir_all(out)
                .with_context(|| format!("{}: cannot create output folder", out.display()))?;
        }
        let mut folder = OutputFolder {
            path: out.to_path_buf(),
            created,
            lock: None,
            finished: false,
            took_over: None,
        };
        let lock = Lock::acquire(out, command)?;
        folder.took_over = lock
            .took_over
            .as_ref()
            .map(|h| format!("pid {} on {} (`sfhq-pack {}`)", h.pid, h.host, h.command));
        folder.lock = Some(lock);
        let found = survey(out)?;
        refuse_unless_replaceable(out, &found, existing)?;
        match existing {
            Existing::Resume => {}
            Existing::Overwrite => {
                let mut removable = found.temporaries.clone();
                removable.extend(found.ours.iter().cloned());
                ownership::remove_files(out, &removable)?;
            }
            Existing::Refuse => ownership::remove_files(out, &found.temporaries)?,
        }
        Ok((folder, found))
    }

    /// Locks a folder that must exist (`package`): nothing in it is removed, whatever
    /// happens (the run cleans up its own staging).
    pub(crate) fn lock_existing(dir: &Path, command: &str) -> anyhow::Result<Self> {
        let lock = Lock::acquire(dir, command)?;
        Ok(OutputFolder {
            path: dir.to_path_buf(),
            created: false,
            took_over: None,
            lock: Some(lock),
            // Nothing to clean up on drop but the lock.
            finished: true,
        })
    }

    /// The run completed: keep what it made.
    pub(crate) fn finish(mut self) {
        self.finished = true;
    }
}

impl Drop for OutputFolder {
    fn drop(&mut self) {
        if !self.finished {
            ownership::remove_empty_folders(&self.path);
        }
        drop(self.lock.take());
        if !self.finished && self.created {
            // Only when empty: remove_dir refuses a folder with anything in it.
            let _ = fs::remove_dir(&self.path);
        }
    }
}
