//! The `package` engine: the publishing files for a converted folder: `README.md` (Hugging Face card),
//! `croissant.json`, and the flat `kaggle/` upload folder.
//!
//! Order matters because the platforms report mistakes only after hours of uploading:
//! every argument rule is checked first (exit 2, all violations at once), then existing
//! publishing files (replaced only with `--overwrite`), then the shards exactly as `verify`
//! checks them (any problem: exit 1, because a card must not vouch for a corrupt shard),
//! and only then is anything written, each file atomically and the Kaggle folder renamed
//! into place whole.

use std::fs;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use super::kaggle::{self, Placed};
use super::{
    croissant, hf_card, Facts, Meta, PackageRequest, CARD_FILE, CROISSANT_FILE, KAGGLE_DIR,
    PREVIEW_FILE, PREVIEW_SAMPLES,
};
use crate::checksum::sha256_hex;
use crate::format::shard::ShardFormat;
use crate::manifest::{created_from_env, Manifest, PublishedFile};
use crate::output::{write_atomic, OutputFolder};
use crate::pipeline::Progress;
use crate::ui::{format_bytes, plural, sanitize};
use crate::verify::{verify, Problem};

/// What a `package` run did, for the command to print.
pub struct Packaged {
    /// `verify` problems that stopped it before anything was written.
    pub refused: Vec<Problem>,
    /// One line per file or folder written.
    pub wrote: Vec<String>,
    /// How to upload what was written.
    pub hints: Vec<String>,
    /// Ctrl-C or SIGTERM arrived before anything was written: nothing was.
    pub interrupted: bool,
}

impl Packaged {
    fn interrupted() -> Packaged {
        Packaged {
            refused: Vec::new(),
            wrote: Vec::new(),
            hints: Vec::new(),
            interrupted: true,
        }
    }
}

fn exists(path: &Path) -> bool {
    fs::symlink_metadata(path).is_ok()
}

/// Checks the request and the folder, then writes the publishing files asked for.
pub fn package(
    args: &PackageRequest,
    progress: &dyn Progress,
    interrupted: &AtomicBool,
    on_status: &dyn Fn(&str),
) -> anyhow::Result<Packaged> {
    let dir = args.dir.as_path();
    let mut wrote = Vec::new();
    let mut hints = Vec::new();
    let mut manifest = Manifest::read(dir)?;
    // One writer per folder: a convert or another package into it must wait.
    let _lock = OutputFolder::lock_existing(dir, "package")?;
    let meta = Meta::resolve(args, &manifest, created_from_env()).map_err(|problems| {
        anyhow::anyhow!(
            "package: {} problem(s) with the arguments; nothing was written:\n  {}",
            problems.len(),
            problems.join("\n  ")
        )
    })?;

    let wanted = [
        (meta.targets.hf, CARD_FILE),
        (meta.targets.hf, PREVIEW_FILE),
        (meta.targets.croissant, CROISSANT_FILE),
        (meta.targets.kaggle, KAGGLE_DIR),
    ];
    let present: Vec<String> = wanted
        .iter()
        .filter(|(asked, name)| *asked && exists(&dir.join(name)))
        .map(|(_, name)| dir.join(name).display().to_string())
        .collect();
    if !present.is_empty() && !args.overwrite {
        anyhow::bail!(
            "package: {} {}; pass --overwrite to replace {}; nothing was written",
            present.join(", "),
            if present.len() == 1 {
                "already exists"
            } else {
                "already exist"
            },
            if present.len() == 1 { "it" } else { "them" }
        );
    }

    on_status(&format!(
        "verifying {} shard(s) before describing them",
        manifest.shards.len()
    ));
    let report = verify(dir, &manifest, None, progress, interrupted);
    if report.interrupted {
        return Ok(Packaged::interrupted());
    }
    // The card vouches for the shards; publishing files are what this run rewrites.
    let refused: Vec<Problem> = report
        .problems
        .into_iter()
        .filter(|p| !super::is_publishing_path(&p.path))
        .collect();
    if !refused.is_empty() {
        return Ok(Packaged {
            refused,
            wrote,
            hints,
            interrupted: false,
        });
    }

    let facts = Facts::gather(dir, &manifest)?;
    if meta.targets.hf && !facts.has_parquet() {
        if manifest.options.formats.contains(&ShardFormat::Parquet) {
            anyhow::bail!(
                "package: --hf describes the Parquet shards, and this folder has none because it holds no rows ({} sample(s) excluded); nothing was written",
                manifest.excluded.len()
            );
        }
        anyhow::bail!(
            "package: --hf describes the Parquet shards, and this folder has none (it was converted with --format webdataset); convert with --format parquet,webdataset; nothing was written"
        );
    }

    // The preview grid (8 samples with their overlays, seed 0 as the report's gallery).
    let preview = if meta.targets.hf {
        crate::report::preview_grid(
            dir,
            0,
            PREVIEW_SAMPLES,
            manifest.options.max_file_bytes,
            manifest.options.max_pixels,
        )
        .map_err(|e| anyhow::anyhow!("package: preview.png: {e:#}; nothing was written"))?
    } else {
        None
    };
    let card = meta.targets.hf.then(|| {
        let card = hf_card::card(&facts, &meta);
        match &preview {
            Some(_) => hf_card::with_preview(&card, PREVIEW_FILE, PREVIEW_SAMPLES),
            None => card,
        }
    });
    let croissant = meta
        .targets
        .croissant
        .then(|| croissant::render(&facts, &meta));
    let kaggle_plan = if meta.targets.kaggle {
        // Kaggle's own description of the flat folder (not the Hub card, whose paths and
        // loading examples name data/ and webdataset/ folders Kaggle does not get).
        let readme = hf_card::body(&facts, &meta, hf_card::Flavor::Kaggle).into_bytes();
        let layout = kaggle::layout(dir, &facts, readme)
            .map_err(|e| anyhow::anyhow!("package: {e}; nothing was written"))?;
        let metadata = kaggle::metadata(&facts, &meta, &layout);
        let problems = kaggle::check_metadata(&metadata, &layout);
        if !problems.is_empty() {
            anyhow::bail!(
                "package: dataset-metadata.json would fail Kaggle's checks; nothing was written:\n  {}",
                problems.join("\n  ")
            );
        }
        Some((layout, metadata))
    } else {
        None
    };

    // Writing: the Kaggle folder is staged first (the step most likely to fail: links,
    // copies), the single files next, and the staged folder renamed into place last.
    let staged = match &kaggle_plan {
        Some((layout, metadata)) => Some(kaggle::stage(dir, layout, metadata, interrupted)?),
        None => None,
    };
    if interrupted.load(Ordering::SeqCst) {
        if let Some(staged) = staged {
            staged.abandon();
        }
        return Ok(Packaged::interrupted());
    }
    let written = (|| -> anyhow::Result<()> {
        if let Some(preview) = &preview {
            write_atomic(&dir.join(PREVIEW_FILE), preview)?;
        }
        if let Some(card) = &card {
            write_atomic(&dir.join(CARD_FILE), card.as_bytes())?;
        }
        if let Some(croissant) = &croissant {
            write_atomic(&dir.join(CROISSANT_FILE), croissant.as_bytes())?;
        }
        Ok(())
    })();
    if let Err(e) = written {
        if let Some(staged) = staged {
            staged.abandon();
        }
        return Err(e);
    }
    let shown = |name: &str| sanitize(&dir.join(name).display().to_string());
    if card.is_some() {
        let splits: Vec<String> = facts
            .splits
            .iter()
            .filter(|s| !s.parquet.is_empty())
            .map(|s| format!("{} {}", s.name, s.rows))
            .collect();
        wrote.push(format!(
            "wrote {}: Hugging Face card ({}; license {})",
            shown(CARD_FILE),
            splits.join(", "),
            meta.license.hub
        ));
    }
    if preview.is_some() {
        wrote.push(format!(
            "wrote {}: {PREVIEW_SAMPLES} samples with their segmentation map and landmarks, shown in the card",
            shown(PREVIEW_FILE)
        ));
    }
    if croissant.is_some() {
        hints.push(format!(
            "croissant.json: datePublished {} from {}{}",
            meta.date.as_deref().unwrap_or("?"),
            meta.date_source,
            if meta.date_source == "--date" {
                String::new()
            } else {
                format!(
                    "; pass --date {} to pin it",
                    meta.date.as_deref().unwrap_or("YYYY-MM-DD")
                )
            }
        ));
        wrote.push(format!(
            "wrote {}: Croissant 1.1, {} FileObject(s) with sha256, published {}",
            shown(CROISSANT_FILE),
            manifest.shards.len(),
            meta.date.as_deref().unwrap_or("?")
        ));
    }
    if let Some(staged) = staged {
        let files = staged.files;
        let Placed {
            linked,
            copied,
            link_error,
        } = staged.finish()?;
        let bytes: u64 = kaggle_plan
            .as_ref()
            .map(|(layout, _)| {
                layout
                    .entries
                    .iter()
                    .filter_map(|e| match &e.content {
                        kaggle::Content::Shard(path, _) => fs::metadata(path).ok().map(|m| m.len()),
                        kaggle::Content::Bytes(b) => Some(b.len() as u64),
                    })
                    .sum()
            })
            .unwrap_or(0);
        wrote.push(format!(
            "wrote {}/: {}, {} to upload; {} hard-linked (no extra space){}",
            shown(KAGGLE_DIR),
            plural(files, "file"),
            format_bytes(bytes),
            plural(linked, "shard"),
            if copied > 0 {
                format!(
                    ", {copied} copied because hard links failed here ({}); the copies' sha256 were checked",
                    link_error.unwrap_or_default()
                )
            } else {
                String::new()
            }
        ));
    }
    {
        if let (true, Some(id)) = (meta.targets.hf, &meta.id) {
            hints.push(format!(
                "upload to the Hub: hf upload {id} {} --repo-type dataset --exclude \"kaggle/*\"",
                sanitize(&dir.display().to_string())
            ));
        }
        if meta.targets.kaggle {
            hints.push(format!(
                "upload to Kaggle: kaggle datasets create -p {}",
                shown(KAGGLE_DIR)
            ));
        }
    }
    // Last, the record of what was written, so that `verify` checks these files and
    // `convert --overwrite` may remove them later.
    let mut published: Vec<PublishedFile> = manifest
        .published
        .drain(..)
        .filter(|p| {
            let rewritten = (card.is_some() && (p.path == CARD_FILE || p.path == PREVIEW_FILE))
                || (croissant.is_some() && p.path == CROISSANT_FILE)
                || (kaggle_plan.is_some() && p.path.starts_with(&format!("{KAGGLE_DIR}/")));
            !rewritten
        })
        .collect();
    for (name, text) in [(CARD_FILE, &card), (CROISSANT_FILE, &croissant)] {
        if let Some(text) = text {
            published.push(PublishedFile {
                path: name.to_string(),
                bytes: text.len() as u64,
                sha256: sha256_hex(text.as_bytes()),
            });
        }
    }
    if let Some(preview) = &preview {
        published.push(PublishedFile {
            path: PREVIEW_FILE.to_string(),
            bytes: preview.len() as u64,
            sha256: sha256_hex(preview),
        });
    }
    if let Some((layout, metadata)) = &kaggle_plan {
        published.extend(kaggle::published(layout, metadata));
    }
    published.sort_by(|a, b| a.path.cmp(&b.path));
    manifest.published = published;
    manifest.write(dir)?;
    Ok(Packaged {
        refused: Vec::new(),
        wrote,
        hints,
        interrupted: false,
    })
}
