//! Names the output must be able to hold, checked before the first shard is written: keys
//! that `extract` could not turn back into files, and, for WebDataset, keys and feature
//! models that cannot name distinct tar members. A converted folder always extracts.

use crate::format::shard::ShardFormat;
use crate::format::webdataset::names::{key_problem, longest_extension, member_clashes};
use crate::sample::key_file_name_problem;
use crate::schema::DatasetSchema;
use crate::ui::{plural, sanitize};

/// How many refused keys the message lists.
const SHOWN_KEYS: usize = 20;

/// Stops the run (exit 2, nothing written) when a key or a feature model name cannot be
/// written in every format asked for.
pub fn refuse_unusable_names<'a>(
    keys: impl Iterator<Item = &'a str>,
    schema: &DatasetSchema,
    formats: &[ShardFormat],
) -> anyhow::Result<()> {
    let webdataset = formats.contains(&ShardFormat::Webdataset);
    if webdataset {
        let clashes = member_clashes(schema);
        if !clashes.is_empty() {
            anyhow::bail!(
                "feature model names that would name the same WebDataset member:\n  {}\nrename the models in the pickles, or convert with --format parquet; nothing was written",
                clashes.join("\n  ")
            );
        }
    }
    let longest = longest_extension(schema);
    let mut bad = Vec::new();
    let (mut count, mut anywhere) = (0usize, 0usize);
    for key in keys {
        let why = match key_file_name_problem(key) {
            Some(why) => {
                anywhere += 1;
                Some(why)
            }
            None if webdataset => key_problem(key, longest),
            None => None,
        };
        if let Some(why) = why {
            count += 1;
            if bad.len() < SHOWN_KEYS {
                bad.push(format!("  {}: {why}", sanitize(key)));
            }
        }
    }
    if count > 0 {
        if count > SHOWN_KEYS {
            bad.push(format!(
                "  ... and {}",
                plural(count - SHOWN_KEYS, "more key")
            ));
        }
        // Keys only WebDataset cannot hold can still go to Parquet.
        let parquet = if anywhere == 0 {
            ", or convert with --format parquet"
        } else {
            ""
        };
        anyhow::bail!(
            "{} cannot be written{}:\n{}\nrename those files (a key is a file name without its extension){parquet}; nothing was written",
            plural(count, "key"),
            if webdataset { " as file names or WebDataset members" } else { " as file names (`extract` could not write them back)" },
            bad.join("\n")
        );
    }
    Ok(())
}
