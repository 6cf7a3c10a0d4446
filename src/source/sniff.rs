//! What a file given as a source looks like when it is not a usable zip: an HTML page saved
//! under a `.zip` name, a gzip or tar, an empty file, or a zip cut short. The first bytes
//! (and the zip signatures) tell them apart; the message says what to do about each.

use std::fs::File;
use std::io::Read;
use std::path::Path;

/// A guess at what a non-zip file is, from its first bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Looks {
    Empty,
    Html,
    /// A JSON document: what download APIs answer with when they refuse.
    Json,
    Gzip,
    Tar,
    OtherArchive(&'static str),
    /// Starts like a zip (a local file header) but its end is missing.
    TruncatedZip,
    Unknown,
}

impl Looks {
    /// Reads the first bytes of `path` and guesses.
    pub(crate) fn of_file(path: &Path) -> Looks {
        let mut head = Vec::with_capacity(512);
        if let Ok(file) = File::open(path) {
            let _ = file.take(512).read_to_end(&mut head);
        }
        Looks::of_bytes(&head)
    }

    pub(crate) fn of_bytes(head: &[u8]) -> Looks {
        if head.is_empty() {
            return Looks::Empty;
        }
        if head.starts_with(b"PK\x03\x04") {
            return Looks::TruncatedZip;
        }
        if head.starts_with(&[0x1f, 0x8b]) {
            return Looks::Gzip;
        }
        if head.len() >= 262 && &head[257..262] == b"ustar" {
            return Looks::Tar;
        }
        for (magic, name) in [
            (&b"7z\xBC\xAF\x27\x1C"[..], "a 7-Zip archive"),
            (b"Rar!\x1A\x07", "a RAR archive"),
            (b"\xFD7zXZ\x00", "an xz-compressed file"),
            (b"BZh", "a bzip2-compressed file"),
            (b"\x28\xB5\x2F\xFD", "a zstd-compressed file"),
        ] {
            if head.starts_with(magic) {
                return Looks::OtherArchive(name);
            }
        }
        let text = String::from_utf8_lossy(head);
        let start = text
            .trim_start_matches('\u{feff}')
            .trim_start()
            .to_ascii_lowercase();
        if start.starts_with("<!doctype html")
            || start.starts_with("<html")
            || start.starts_with("<?xml")
            || start.starts_with("<head")
            || start.starts_with("<!--")
        {
            return Looks::Html;
        }
        if start.starts_with('{') && start.contains('"') {
            return Looks::Json;
        }
        Looks::Unknown
    }

    /// What the file looks like and what to do, for the message that refuses it.
    pub(crate) fn advice(&self) -> String {
        match self {
            Looks::Empty => "the file is empty (0 bytes): the download did not complete; download it again".into(),
            Looks::Html => "the file is an HTML page, not a zip (a saved error or login page?): download the part again from its dataset page".into(),
            Looks::Json => "the file is a JSON document, not a zip (an error answer from a download API?): download the part again".into(),
            Looks::Gzip => "the file is gzip-compressed (a .gz or .tar.gz), not a zip: unpack it (tar -xzf) and pass the folder".into(),
            Looks::Tar => "the file is a tar archive, not a zip: unpack it (tar -xf) and pass the folder".into(),
            Looks::OtherArchive(name) => format!("the file is {name}, not a zip: unpack it and pass the folder"),
            Looks::TruncatedZip => "the file starts like a zip but its end (the central directory) is missing: it was cut short, the download may be incomplete; download it again".into(),
            Looks::Unknown => "the file is neither a folder nor a zip archive (no zip signature found)".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_bytes_tell_what_a_file_is() {
        let mut tar = vec![0u8; 512];
        tar[257..262].copy_from_slice(b"ustar");
        for (bytes, looks) in [
            (&b""[..], Looks::Empty),
            (b"\xef\xbb\xbf  <!DOCTYPE html><html>", Looks::Html),
            (b"<HTML><body>404</body>", Looks::Html),
            (b"\x1f\x8b\x08\x00", Looks::Gzip),
            (&tar, Looks::Tar),
            (b"PK\x03\x04\x14\x00", Looks::TruncatedZip),
            (b"BZh91AY", Looks::OtherArchive("a bzip2-compressed file")),
            (
                b"{\"code\": 403, \"message\": \"Unauthorized\"}",
                Looks::Json,
            ),
            (b"hello", Looks::Unknown),
        ] {
            assert_eq!(Looks::of_bytes(bytes), looks);
        }
    }
}
