//! Zip sources, read in place. The central directory is parsed once; each reader thread
//! clones the archive (cheap: the directory is shared) over a positional file handle, so
//! members are read concurrently without seeking a shared cursor.
//!
//! Opening refuses, with one message per source: a file that is not a zip (saying what it
//! looks like), a zip cut short, entries sharing bytes (a zip bomb), and members compressed
//! with a method this build does not read (only stored and deflate: the Kaggle parts use
//! deflate, and the LZMA/bzip2 decoders would add C or large dependencies for a case a user
//! fixes by unpacking). The records are walked again by [`super::central`] because the `zip`
//! crate folds a name written twice into one member.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::Arc;

use super::central;
use super::sniff::Looks;
use super::{is_junk, ListedFile, Locator, UnsafePath};
use crate::ui::sanitize;

/// A file handle with its own position, reading through `pread` so clones never interfere.
#[derive(Clone)]
struct SharedFile {
    file: Arc<File>,
    len: u64,
    pos: u64,
}

impl Read for SharedFile {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.file.read_at(buf, self.pos)?;
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for SharedFile {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        let target = match pos {
            SeekFrom::Start(p) => Some(p),
            SeekFrom::End(d) => self.len.checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        self.pos = target
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "seek before start"))?;
        Ok(self.pos)
    }
}

pub(super) struct ZipSource {
    archive: zip::ZipArchive<SharedFile>,
    /// Every central-directory record, in order (repeated names included), as listing
    /// needs it.
    records: Records,
    /// For each record, the `zip` crate's index of its member; `None` for a name already
    /// used by an earlier record (the crate folds those into one member).
    member_index: Vec<Option<u32>>,
}

impl ZipSource {
    pub(super) fn open(path: &Path) -> anyhow::Result<ZipSource> {
        let file = File::open(path)?;
        let len = file.metadata()?.len();
        if len == 0 {
            anyhow::bail!("{}", Looks::Empty.advice());
        }
        let shared = SharedFile {
            file: Arc::new(file),
            len,
            pos: 0,
        };
        let archive = match zip::ZipArchive::new(shared.clone()) {
            Ok(archive) => archive,
            Err(e) => match Looks::of_file(path) {
                // Only when we cannot tell what the file is does the zip reader's own
                // wording help.
                Looks::Unknown => anyhow::bail!("{} ({e})", Looks::Unknown.advice()),
                looks => anyhow::bail!("{}", looks.advice()),
            },
        };
        if archive.offset() != 0 {
            // A zip cut short can end inside a zip stored in it (an `.npz`): the inner
            // archive's end is then taken for the outer one, at an offset into the file.
            let advice = match Looks::of_file(path) {
                Looks::TruncatedZip => Looks::TruncatedZip.advice(),
                _ => format!("{} bytes come before the zip archive (a self-extracting or damaged file); unpack it with a zip tool and pass the folder", archive.offset()),
            };
            anyhow::bail!(
                "the archive found at the end of the file starts at byte {}, not at the start of the file: {advice}",
                archive.offset()
            );
        }
        let entries = central::read_directory(shared.clone(), archive.central_directory_start())
            .map_err(|e| anyhow::anyhow!("cannot read the central directory: {e}"))?;
        let member_index = member_indexes(&archive, &entries)?;
        refuse_unsupported_methods(&entries)?;
        refuse_overlapping_entries(&shared, &entries)?;
        Ok(ZipSource {
            archive,
            records: Records::from_entries(&entries),
            member_index,
        })
    }

    /// Hands every regular member to `on_file`, in central-directory order; a name written
    /// twice is handed twice (the inventory reports it as a duplicate).
    pub(super) fn list(
        &self,
        on_file: &mut dyn FnMut(ListedFile),
    ) -> anyhow::Result<Vec<UnsafePath>> {
        let mut refused = Vec::new();
        for index in 0..self.records.sizes.len() {
            let kind = self.records.kinds[index];
            if kind == Kind::Dir {
                continue;
            }
            let name = String::from_utf8_lossy(self.records.name(index)).into_owned();
            if let Some(reason) = unsafe_reason(&name) {
                refused.push(UnsafePath { name, reason });
                continue;
            }
            if kind == Kind::Symlink {
                refused.push(UnsafePath {
                    name,
                    reason: "member is a symbolic link",
                });
                continue;
            }
            on_file(ListedFile {
                path: normalize(&name),
                size: self.records.sizes[index],
                modified: None,
                locator: Locator::Member(u32::try_from(index)?),
            });
        }
        Ok(refused)
    }

    pub(super) fn read_member(
        &self,
        index: u32,
        max_bytes: u64,
        out: &mut Vec<u8>,
    ) -> io::Result<()> {
        let Some(Some(member)) = self.member_index.get(index as usize) else {
            return Err(io::Error::other(
                "the zip holds this member name more than once; remove the extra copies",
            ));
        };
        let mut archive = self.archive.clone();
        let member = archive
            .by_index(*member as usize)
            .map_err(io::Error::other)?;
        member.take(max_bytes + 1).read_to_end(out)?;
        Ok(())
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    File,
    Dir,
    Symlink,
}

/// The records' names, sizes and kinds in flat arrays: a Kaggle part has half a million
/// members, and one allocation per name would cost tens of megabytes.
struct Records {
    names: Vec<u8>,
    /// End of each name in `names`.
    ends: Vec<usize>,
    sizes: Vec<u64>,
    kinds: Vec<Kind>,
}

impl Records {
    fn from_entries(entries: &[central::Entry]) -> Records {
        let mut records = Records {
            names: Vec::with_capacity(entries.iter().map(|e| e.name.len()).sum()),
            ends: Vec::with_capacity(entries.len()),
            sizes: Vec::with_capacity(entries.len()),
            kinds: Vec::with_capacity(entries.len()),
        };
        for e in entries {
            records.names.extend(&e.name);
            records.ends.push(records.names.len());
            records.sizes.push(e.size);
            records.kinds.push(if e.is_dir() {
                Kind::Dir
            } else if e.is_symlink() {
                Kind::Symlink
            } else {
                Kind::File
            });
        }
        records
    }

    fn name(&self, index: usize) -> &[u8] {
        let start = if index == 0 { 0 } else { self.ends[index - 1] };
        &self.names[start..self.ends[index]]
    }
}

/// Maps each central-directory record to the `zip` crate's member, checking that the two
/// readings of the directory agree (same names, same order).
fn member_indexes(
    archive: &zip::ZipArchive<SharedFile>,
    entries: &[central::Entry],
) -> anyhow::Result<Vec<Option<u32>>> {
    let mut archive = archive.clone();
    let mut seen = std::collections::HashSet::new();
    let mut next = 0usize;
    let mut indexes = Vec::with_capacity(entries.len());
    for entry in entries {
        if !seen.insert(entry.name.as_slice()) {
            indexes.push(None);
            continue;
        }
        let agrees = next < archive.len()
            && archive
                .by_index_raw(next)
                .is_ok_and(|m| m.name_raw() == entry.name.as_slice());
        if !agrees {
            anyhow::bail!(
                "the central directory is inconsistent (entry '{}' cannot be found again): the file is damaged or the download incomplete; download it again",
                sanitize(&String::from_utf8_lossy(&entry.name))
            );
        }
        indexes.push(Some(u32::try_from(next)?));
        next += 1;
    }
    if next != archive.len() {
        anyhow::bail!(
            "the central directory is inconsistent ({} entries read, {} expected): the file is damaged or the download incomplete; download it again",
            entries.len(),
            archive.len()
        );
    }
    Ok(indexes)
}

/// One error per source for members compressed with a method this build cannot read,
/// rather than one per member.
fn refuse_unsupported_methods(entries: &[central::Entry]) -> anyhow::Result<()> {
    let mut by_method: std::collections::BTreeMap<(u16, bool), (usize, &[u8])> =
        std::collections::BTreeMap::new();
    for e in entries {
        let name = String::from_utf8_lossy(&e.name);
        if e.is_dir() || is_junk(&normalize(&name)) {
            continue;
        }
        if !central::is_supported_method(e.method) || e.is_encrypted() {
            by_method
                .entry((e.method, e.is_encrypted()))
                .or_insert((0, &e.name))
                .0 += 1;
        }
    }
    let Some((&(method, encrypted), &(count, example))) = by_method.iter().next() else {
        return Ok(());
    };
    let example = sanitize(&String::from_utf8_lossy(example));
    if encrypted {
        anyhow::bail!(
            "{count} member(s) are encrypted (e.g. '{example}'), and sfhq-pack does not read password-protected zips: unpack it with the password and pass the folder"
        );
    }
    let others: usize = by_method.values().map(|v| v.0).sum::<usize>() - count;
    anyhow::bail!(
        "{count} member(s) are compressed with {} (zip method {method}, e.g. '{example}'){}, and sfhq-pack reads only stored and deflate members: unpack the zip with a tool that supports it (7z x, or unzip) and pass the folder, or re-create the zip with deflate",
        central::method_name(method),
        if others > 0 { format!(" and {others} more with other methods") } else { String::new() }
    )
}

/// Refuses a zip whose entries share bytes: a bomb that inflates one member's data once per
/// entry (hundreds of gigabytes of work from a small file), or a damaged archive.
fn refuse_overlapping_entries(file: &SharedFile, entries: &[central::Entry]) -> anyhow::Result<()> {
    let read_at = |buf: &mut [u8], at: u64| file.file.read_exact_at(buf, at);
    let mut ranges = Vec::with_capacity(entries.len());
    for e in entries {
        let range = central::data_range(&read_at, e).map_err(|err| {
            anyhow::anyhow!(
                "member '{}': {err}: the file is damaged or the download incomplete; download it again",
                sanitize(&String::from_utf8_lossy(&e.name))
            )
        })?;
        ranges.push(range);
    }
    if let Some(((a, b), count)) = central::overlapping(&ranges) {
        anyhow::bail!(
            "{count} central-directory entries share their data with another entry (e.g. '{}' and '{}' both use bytes {}..{}): a zip bomb or a damaged archive, refused; re-create the zip from the original files",
            sanitize(&String::from_utf8_lossy(&entries[a].name)),
            sanitize(&String::from_utf8_lossy(&entries[b].name)),
            ranges[b].start.max(ranges[a].start),
            ranges[a].end.min(ranges[b].end)
        );
    }
    Ok(())
}

/// The name as the inventory sees it: `/` separators, and no `.` components, so that
/// `./images/a.jpg` (written by `zip -r . ` and some tools) is `images/a.jpg`.
pub(super) fn normalize(name: &str) -> String {
    let slashed = name.replace('\\', "/");
    if !slashed.split('/').any(|part| part == ".") {
        return slashed;
    }
    slashed
        .split('/')
        .filter(|part| *part != ".")
        .collect::<Vec<_>>()
        .join("/")
}

/// Why a member name must not be used, if it must not. Both separators count, since zips
/// made on Windows use backslashes.
pub(super) fn unsafe_reason(name: &str) -> Option<&'static str> {
    let normalized = name.replace('\\', "/");
    let bytes = normalized.as_bytes();
    if normalized.starts_with('/')
        || (bytes.len() >= 2 && bytes[1] == b':' && bytes[0].is_ascii_alphabetic())
    {
        return Some("absolute path");
    }
    if normalized.split('/').any(|part| part == "..") {
        return Some("path climbs out of the archive with '..'");
    }
    if normalized.contains('\0') {
        return Some("path contains a NUL byte");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::unsafe_reason;

    #[test]
    fn climbing_and_absolute_names_are_refused() {
        for (name, reason) in [
            ("../evil/a.jpg", "path climbs out of the archive with '..'"),
            (
                "images/../../escape.jpg",
                "path climbs out of the archive with '..'",
            ),
            ("..\\win\\a.jpg", "path climbs out of the archive with '..'"),
            ("/abs/images/a.jpg", "absolute path"),
            ("C:/x/a.jpg", "absolute path"),
            ("\\\\server\\share\\a.jpg", "absolute path"),
        ] {
            assert_eq!(unsafe_reason(name), Some(reason), "{name}");
        }
        for name in [
            "images/images/SFHQ_pt2_00000001.jpg",
            "a..b/c.jpg",
            "x/...jpg",
        ] {
            assert_eq!(unsafe_reason(name), None, "{name}");
        }
    }
}
