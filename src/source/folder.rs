//! Folder sources: one walk, sorted, symlinks followed (walkdir detects loops).

use std::path::Path;

use anyhow::Context;

use super::{ListedFile, Listing, Locator};

pub(super) fn list(root: &Path) -> anyhow::Result<Listing> {
    let mut listing = Listing::default();
    for entry in walkdir::WalkDir::new(root)
        .follow_links(true)
        .sort_by_file_name()
    {
        let entry = entry.with_context(|| format!("{}: cannot list folder", root.display()))?;
        if !entry.file_type().is_file() {
            continue;
        }
        let rel = entry
            .path()
            .strip_prefix(root)
            .expect("walkdir yields paths below its root");
        let Some(rel) = rel.to_str() else {
            // Not UTF-8: cannot be an SFHQ file name; keep it visible rather than dropping it.
            listing.unsafe_paths.push(super::UnsafePath {
                name: rel.to_string_lossy().into_owned(),
                reason: "file name is not valid UTF-8",
            });
            continue;
        };
        let size = entry
            .metadata()
            .with_context(|| format!("{}: cannot stat", entry.path().display()))?
            .len();
        listing.files.push(ListedFile {
            path: rel.replace(std::path::MAIN_SEPARATOR, "/"),
            size,
            locator: Locator::Path,
        });
    }
    Ok(listing)
}
