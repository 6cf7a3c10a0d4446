//! Zip sources, read in place. The central directory is parsed once; each reader thread
//! clones the archive (cheap: the directory is shared) over a positional file handle, so
//! members are read concurrently without seeking a shared cursor.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::Arc;

use super::{ListedFile, Locator, UnsafePath};

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
}

impl ZipSource {
    pub(super) fn open(path: &Path) -> anyhow::Result<ZipSource> {
        let file = File::open(path)?;
        let len = file.metadata()?.len();
        let shared = SharedFile {
            file: Arc::new(file),
            len,
            pos: 0,
        };
        let archive = zip::ZipArchive::new(shared)?;
        Ok(ZipSource { archive })
    }

    /// Hands every regular member to `on_file`, in central-directory order.
    pub(super) fn list(
        &self,
        on_file: &mut dyn FnMut(ListedFile),
    ) -> anyhow::Result<Vec<UnsafePath>> {
        let mut archive = self.archive.clone();
        let mut refused = Vec::new();
        for index in 0..archive.len() {
            let member = archive.by_index_raw(index)?;
            let name = String::from_utf8_lossy(member.name_raw()).into_owned();
            if member.is_dir() {
                continue;
            }
            if let Some(reason) = unsafe_reason(&name) {
                refused.push(UnsafePath { name, reason });
                continue;
            }
            if member.is_symlink() {
                refused.push(UnsafePath {
                    name,
                    reason: "member is a symbolic link",
                });
                continue;
            }
            on_file(ListedFile {
                path: name.replace('\\', "/"),
                size: member.size(),
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
        let mut archive = self.archive.clone();
        let member = archive.by_index(index as usize).map_err(io::Error::other)?;
        member.take(max_bytes + 1).read_to_end(out)?;
        Ok(())
    }
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
