//! Reading our own tar shards back, for `verify` (the structure: member sets, adjacency,
//! end blocks) and `extract` (the members of each sample).
//!
//! A shard may have been doctored: member sizes come from headers the file chooses, so a
//! member is read through a limit and never into a buffer sized from its header, and every
//! problem is an error naming the member, never a panic.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::Path;

use super::names::BLOCK;

/// Why a tar shard cannot be read as WebDataset samples.
#[derive(Debug, thiserror::Error)]
pub(crate) enum TarError {
    #[error("cannot read: {0}")]
    Io(#[from] io::Error),
    #[error("member {0} is not a regular file")]
    NotRegular(String),
    #[error("member {0} has no extension")]
    NoExtension(String),
    #[error("member {0} appears twice")]
    Repeated(String),
    #[error("the members of sample {0} are not adjacent")]
    NotAdjacent(String),
    #[error("member {name} declares {declared} bytes, above the limit of {limit} bytes")]
    TooLarge {
        name: String,
        declared: u64,
        limit: u64,
    },
}

/// One sample's members: extension (`jpg`, `seg.png`, `json`, ...) -> bytes.
pub(crate) struct TarSample {
    pub key: String,
    pub members: BTreeMap<String, Vec<u8>>,
}

/// Splits a member name into key and extension at the first dot of its last component,
/// as WebDataset readers do.
fn split_name(name: &str) -> Result<(&str, &str), TarError> {
    let base = name.rsplit('/').next().unwrap_or(name);
    base.split_once('.')
        .ok_or_else(|| TarError::NoExtension(name.to_string()))
}

/// Walks the archive, grouping adjacent members by key; `on_member` gets each member's
/// key, extension and entry, and decides whether to read its bytes.
fn walk<R: Read>(
    reader: R,
    mut on_member: impl FnMut(&str, &str, &mut tar::Entry<'_, R>) -> Result<(), TarError>,
) -> Result<(), TarError> {
    let mut archive = tar::Archive::new(reader);
    for entry in archive.entries()? {
        let mut entry = entry?;
        let name = entry.path()?.to_string_lossy().into_owned();
        if entry.header().entry_type() != tar::EntryType::Regular {
            return Err(TarError::NotRegular(name));
        }
        let (key, extension) = split_name(&name)?;
        let (key, extension) = (key.to_string(), extension.to_string());
        on_member(&key, &extension, &mut entry)?;
    }
    Ok(())
}

/// The samples of a shard as (key, member extensions), in archive order, checking that a
/// sample's members are adjacent and none repeats. Reads headers only.
pub(crate) fn member_sets<R: Read>(reader: R) -> Result<Vec<(String, BTreeSet<String>)>, TarError> {
    let mut samples: Vec<(String, BTreeSet<String>)> = Vec::new();
    let mut seen: BTreeSet<String> = BTreeSet::new();
    walk(reader, |key, extension, _| {
        match samples.last_mut() {
            Some((current, members)) if current == key => {
                if !members.insert(extension.to_string()) {
                    return Err(TarError::Repeated(format!("{key}.{extension}")));
                }
            }
            _ => {
                if !seen.insert(key.to_string()) {
                    return Err(TarError::NotAdjacent(key.to_string()));
                }
                samples.push((key.to_string(), [extension.to_string()].into()));
            }
        }
        Ok(())
    })?;
    Ok(samples)
}

/// Reads every sample of a shard and hands it to `each`, members read in full but none
/// larger than `max_member_bytes` (whatever its header declares). Returns the count.
pub(crate) fn for_each_sample<R: Read>(
    reader: R,
    max_member_bytes: u64,
    mut each: impl FnMut(TarSample) -> anyhow::Result<()>,
) -> anyhow::Result<u64> {
    let mut count = 0;
    let mut current: Option<TarSample> = None;
    let mut failed: Option<anyhow::Error> = None;
    walk(reader, |key, extension, entry| {
        if current.as_ref().is_some_and(|s| s.key != key) {
            if let Err(e) = each(current.take().expect("checked above")) {
                failed = Some(e);
                return Err(TarError::Io(io::Error::other("stopped")));
            }
            count += 1;
        }
        let sample = current.get_or_insert_with(|| TarSample {
            key: key.to_string(),
            members: BTreeMap::new(),
        });
        let declared = entry.header().size()?;
        if declared > max_member_bytes {
            return Err(TarError::TooLarge {
                name: format!("{key}.{extension}"),
                declared,
                limit: max_member_bytes,
            });
        }
        let mut bytes = Vec::new();
        entry.take(max_member_bytes).read_to_end(&mut bytes)?;
        if sample
            .members
            .insert(extension.to_string(), bytes)
            .is_some()
        {
            return Err(TarError::Repeated(format!("{key}.{extension}")));
        }
        Ok(())
    })
    .map_err(|e| match failed.take() {
        Some(cause) => cause,
        None => anyhow::Error::from(e),
    })?;
    if let Some(last) = current {
        each(last)?;
        count += 1;
    }
    Ok(count)
}

/// Whether the file ends with the two zero blocks that close a tar archive.
pub(crate) fn end_is_intact(path: &Path) -> io::Result<bool> {
    let mut file = File::open(path)?;
    let len = file.metadata()?.len();
    if len < 2 * BLOCK || len % BLOCK != 0 {
        return Ok(false);
    }
    file.seek(SeekFrom::End(-2 * BLOCK as i64))?;
    let mut tail = [0u8; 2 * BLOCK as usize];
    file.read_exact(&mut tail)?;
    Ok(tail.iter().all(|&b| b == 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tar_with(members: &[(&str, &[u8])]) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        for (name, data) in members {
            let mut header = tar::Header::new_ustar();
            header.set_path(name).unwrap();
            header.set_size(data.len() as u64);
            header.set_mode(0o644);
            header.set_cksum();
            builder.append(&header, *data).unwrap();
        }
        builder.into_inner().unwrap()
    }

    #[test]
    fn members_group_by_key_in_order() {
        let tar = tar_with(&[("a.jpg", b"1"), ("a.json", b"{}"), ("b.jpg", b"2")]);
        let sets = member_sets(tar.as_slice()).unwrap();
        assert_eq!(sets.len(), 2);
        assert_eq!(sets[0].0, "a");
        assert!(sets[0].1.contains("json"));
        let mut keys = Vec::new();
        let count = for_each_sample(tar.as_slice(), 1 << 20, |s| {
            keys.push((s.key, s.members.len()));
            Ok(())
        })
        .unwrap();
        assert_eq!(count, 2);
        assert_eq!(keys, [("a".to_string(), 2), ("b".to_string(), 1)]);
    }

    #[test]
    fn scattered_and_repeated_members_are_refused() {
        let scattered = tar_with(&[("a.jpg", b"1"), ("b.jpg", b"2"), ("a.json", b"{}")]);
        assert!(matches!(
            member_sets(scattered.as_slice()),
            Err(TarError::NotAdjacent(k)) if k == "a"
        ));
        let repeated = tar_with(&[("a.jpg", b"1"), ("a.jpg", b"2")]);
        assert!(matches!(
            member_sets(repeated.as_slice()),
            Err(TarError::Repeated(_))
        ));
    }

    #[test]
    fn a_huge_declared_size_is_refused_without_allocating_it() {
        // A header declaring 900 GB (GNU binary size field) followed by four bytes of data.
        let mut header = tar::Header::new_gnu();
        header.set_path("a.jpg").unwrap();
        header.set_size(900_000_000_000);
        header.set_mode(0o644);
        header.set_cksum();
        let mut tar = header.as_bytes().to_vec();
        tar.extend_from_slice(&[b'1'; 512]);
        let result = for_each_sample(tar.as_slice(), 1 << 20, |_| Ok(()));
        let message = format!("{:#}", result.unwrap_err());
        assert!(
            message.contains("a.jpg declares 900000000000 bytes"),
            "{message}"
        );
    }
}
