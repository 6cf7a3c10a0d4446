//! The zip's central directory as written, one record per entry.
//!
//! The `zip` crate keys members by name, so a name written twice folds into one member
//! (holding the second copy's bytes) and the archive looks one file shorter than it is. This
//! walk keeps every record, so that repeated names, entries sharing their data (a zip bomb
//! that inflates one member hundreds of times) and compression methods we cannot read are
//! found before anything is read, and each reported once per source.

use std::io::{self, BufReader, Read, Seek, SeekFrom};

/// Central directory file header signature.
const CENTRAL_HEADER: u32 = 0x0201_4b50;
/// Local file header signature.
const LOCAL_HEADER: u32 = 0x0403_4b50;
/// More records than any real dataset part holds (SFHQ parts hold at most ~500,000 files).
const MAX_ENTRIES: usize = 20_000_000;

/// One central-directory record.
#[derive(Debug, Clone)]
pub(super) struct Entry {
    pub name: Vec<u8>,
    pub method: u16,
    pub flags: u16,
    pub compressed_size: u64,
    pub size: u64,
    pub header_offset: u64,
    /// Upper byte: the host system that made the entry (3 = Unix).
    pub made_by: u16,
    pub external_attributes: u32,
}

impl Entry {
    pub(super) fn is_dir(&self) -> bool {
        self.name.ends_with(b"/") || self.name.ends_with(b"\\")
    }

    pub(super) fn is_symlink(&self) -> bool {
        self.made_by >> 8 == 3 && (self.external_attributes >> 16) & 0o170000 == 0o120000
    }

    pub(super) fn is_encrypted(&self) -> bool {
        self.flags & 1 != 0
    }
}

/// The methods this build reads: stored and deflate.
pub(super) fn is_supported_method(method: u16) -> bool {
    matches!(method, 0 | 8)
}

/// The usual name of a compression method.
pub(super) fn method_name(method: u16) -> &'static str {
    match method {
        0 => "stored",
        1 => "shrink",
        6 => "implode",
        8 => "deflate",
        9 => "deflate64",
        12 => "bzip2",
        14 => "LZMA",
        93 => "zstd",
        95 => "xz",
        98 => "PPMd",
        99 => "AES encryption",
        _ => "an unknown method",
    }
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

/// Reads every record from `start` (the directory's offset) until the first byte that is
/// not a central-directory header.
pub(super) fn read_directory<R: Read + Seek>(reader: R, start: u64) -> io::Result<Vec<Entry>> {
    let mut reader = BufReader::with_capacity(1 << 16, reader);
    reader.seek(SeekFrom::Start(start))?;
    let mut entries = Vec::new();
    let mut fixed = [0u8; 46];
    loop {
        match reader.read_exact(&mut fixed[..4]) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => break,
            Err(e) => return Err(e),
        }
        if u32_at(&fixed, 0) != CENTRAL_HEADER {
            break;
        }
        if entries.len() >= MAX_ENTRIES {
            return Err(io::Error::other(format!(
                "the central directory lists more than {MAX_ENTRIES} entries"
            )));
        }
        reader.read_exact(&mut fixed[4..])?;
        let name_len = usize::from(u16_at(&fixed, 28));
        let extra_len = usize::from(u16_at(&fixed, 30));
        let comment_len = usize::from(u16_at(&fixed, 32));
        let mut name = vec![0u8; name_len];
        reader.read_exact(&mut name)?;
        let mut extra = vec![0u8; extra_len];
        reader.read_exact(&mut extra)?;
        reader.seek_relative(comment_len as i64)?;
        let mut entry = Entry {
            name,
            method: u16_at(&fixed, 10),
            flags: u16_at(&fixed, 8),
            compressed_size: u64::from(u32_at(&fixed, 20)),
            size: u64::from(u32_at(&fixed, 24)),
            header_offset: u64::from(u32_at(&fixed, 42)),
            made_by: u16_at(&fixed, 4),
            external_attributes: u32_at(&fixed, 38),
        };
        apply_zip64(&mut entry, &extra);
        entries.push(entry);
    }
    Ok(entries)
}

/// Takes the 64-bit sizes and offset from the zip64 extra field, for the fields whose 32-bit
/// value is the 0xFFFFFFFF marker (in the order the format stores them).
fn apply_zip64(entry: &mut Entry, mut extra: &[u8]) {
    while extra.len() >= 4 {
        let id = u16_at(extra, 0);
        let len = usize::from(u16_at(extra, 2)).min(extra.len() - 4);
        let mut data = &extra[4..4 + len];
        if id == 0x0001 {
            for field in [
                &mut entry.size,
                &mut entry.compressed_size,
                &mut entry.header_offset,
            ] {
                if *field == u64::from(u32::MAX) && data.len() >= 8 {
                    *field = u64_at(data, 0);
                    data = &data[8..];
                }
            }
            return;
        }
        extra = &extra[4 + len..];
    }
}

/// Where an entry's bytes lie in the file: its local header, name, extra field and data.
pub(super) fn data_range(
    read_at: &dyn Fn(&mut [u8], u64) -> io::Result<()>,
    entry: &Entry,
) -> io::Result<std::ops::Range<u64>> {
    let mut local = [0u8; 30];
    read_at(&mut local, entry.header_offset)?;
    if u32_at(&local, 0) != LOCAL_HEADER {
        return Err(io::Error::other(format!(
            "no local file header at offset {}",
            entry.header_offset
        )));
    }
    let data_start =
        entry.header_offset + 30 + u64::from(u16_at(&local, 26)) + u64::from(u16_at(&local, 28));
    Ok(entry.header_offset..data_start.saturating_add(entry.compressed_size))
}

/// The first pair of entries whose byte ranges overlap (by index), and how many entries
/// overlap another.
pub(super) fn overlapping(ranges: &[std::ops::Range<u64>]) -> Option<((usize, usize), usize)> {
    let mut order: Vec<usize> = (0..ranges.len()).collect();
    order.sort_by_key(|&i| (ranges[i].start, ranges[i].end));
    let mut first = None;
    let mut count = 0;
    // The entry reaching furthest so far: any later start below its end overlaps it.
    let mut reach: Option<usize> = None;
    for &i in &order {
        if let Some(r) = reach {
            if ranges[i].start < ranges[r].end {
                count += 1;
                first.get_or_insert((r.min(i), r.max(i)));
            }
        }
        if reach.is_none_or(|r| ranges[i].end > ranges[r].end) {
            reach = Some(i);
        }
    }
    first.map(|pair| (pair, count))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_sharing_bytes_are_found() {
        assert_eq!(overlapping(&[0..10, 10..20, 20..30]), None);
        assert_eq!(overlapping(&[20..30, 0..10, 5..8]), Some(((1, 2), 1)));
        assert_eq!(overlapping(&[0..10, 0..10, 0..10]), Some(((0, 1), 2)));
    }

    #[test]
    fn zip64_fields_replace_their_markers() {
        let mut e = Entry {
            name: b"a".to_vec(),
            method: 0,
            flags: 0,
            compressed_size: u64::from(u32::MAX),
            size: 5,
            header_offset: u64::from(u32::MAX),
            made_by: 0,
            external_attributes: 0,
        };
        let mut extra = vec![1, 0, 16, 0];
        extra.extend(7u64.to_le_bytes());
        extra.extend(9u64.to_le_bytes());
        apply_zip64(&mut e, &extra);
        assert_eq!((e.size, e.compressed_size, e.header_offset), (5, 7, 9));
    }
}
