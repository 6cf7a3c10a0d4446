//! Folder sources: one walk, sorted, symlinks followed (walkdir detects loops).

use std::path::Path;

use anyhow::Context;

use super::{ListedFile, Locator, UnsafePath};

pub(super) fn list(
    root: &Path,
    on_file: &mut dyn FnMut(ListedFile),
) -> anyhow::Result<Vec<UnsafePath>> {
    let mut refused = Vec::new();
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
            refused.push(UnsafePath {
                name: rel.to_string_lossy().into_owned(),
                reason: "file name is not valid UTF-8",
            });
            continue;
        };
        let size = entry
            .metadata()
            .with_context(|| format!("{}: cannot stat", entry.path().display()))?
            .len();
        on_file(ListedFile {
            path: rel.replace(std::path::MAIN_SEPARATOR, "/"),
            size,
            locator: Locator::Path,
        });
    }
    Ok(refused)
}
