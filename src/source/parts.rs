//! The published SFHQ parts, and the check that a source recognisably holding part N holds
//! all of it: a partial download or an interrupted unpack otherwise converts silently into a
//! smaller dataset (`source.incomplete`, a warning: the samples present are still used).

use serde::{Deserialize, Serialize};

use super::inventory::Inventory;
use crate::sample::parse_part;
use crate::ui::{sanitize_line, thousands};

/// Samples (images) in each part as published on Kaggle.
pub const PUBLISHED: [(i16, u64); 4] = [(1, 89_785), (2, 91_361), (3, 118_358), (4, 125_754)];

/// Below this many samples of a part a source is taken for a deliberate subset (a test
/// sample such as `fixtures/good`), not for a download of the part, and is not checked. A
/// download or unpack that stops this early is rare; a zip cut short is refused anyway.
pub const MIN_SAMPLES_CHECKED: u64 = 1_000;

/// A part held by the sources with fewer samples than published.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IncompletePart {
    pub part: i16,
    /// The sources holding it, as given (manifest.json: their file names).
    pub sources: Vec<String>,
    pub samples: u64,
    pub published: u64,
}

impl IncompletePart {
    /// The warning line, for the terminal.
    pub fn message(&self) -> String {
        format!(
            "source.incomplete: SFHQ part {} ({}) holds {} samples, but the part is published with {}: the download or the unpacking may be incomplete; download the part again (the samples present are used)",
            self.part,
            sanitize_line(&self.sources.join(", ")),
            thousands(self.samples),
            thousands(self.published)
        )
    }
}

/// The part a source's name says it is: `SFHQ_pt1`, `sfhq-part-2`, `SFHQ_part3.zip`.
fn part_from_name(name: &str) -> Option<i16> {
    let lower = name.to_ascii_lowercase();
    let at = lower.find("sfhq")?;
    let rest = lower[at + 4..].trim_start_matches(['_', '-', ' ', '.']);
    let rest = rest
        .strip_prefix("part")
        .or_else(|| rest.strip_prefix("pt"))?
        .trim_start_matches(['_', '-', ' ']);
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// Parts recognised (by a source's name, or because every key of the source names one
/// part) and holding fewer samples than published, summed over the sources holding them.
pub fn incomplete_parts(inventory: &Inventory) -> Vec<IncompletePart> {
    let mut per_source: Vec<std::collections::BTreeMap<i16, u64>> =
        vec![Default::default(); inventory.sources.len()];
    for sample in &inventory.samples {
        if let Some(part) = parse_part(&sample.key) {
            *per_source[sample.source].entry(part).or_default() += 1;
        }
    }
    let mut found: std::collections::BTreeMap<i16, (Vec<String>, u64)> = Default::default();
    for (index, source) in inventory.sources.iter().enumerate() {
        let name = source
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let counts = &per_source[index];
        let only_part = (counts.len() == 1)
            .then(|| *counts.keys().next().expect("one part"))
            .filter(|_| counts.values().sum::<u64>() == inventory.summaries[index].samples);
        let Some(part) = part_from_name(&name).or(only_part) else {
            continue;
        };
        let entry = found.entry(part).or_default();
        entry.0.push(inventory.summaries[index].path.clone());
        entry.1 += counts.get(&part).copied().unwrap_or(0);
    }
    found
        .into_iter()
        .filter_map(|(part, (sources, samples))| {
            let (_, published) = PUBLISHED.iter().find(|(p, _)| *p == part)?;
            (samples >= MIN_SAMPLES_CHECKED && samples < *published).then_some(IncompletePart {
                part,
                sources,
                samples,
                published: *published,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::part_from_name;

    #[test]
    fn a_source_name_can_say_its_part() {
        for (name, part) in [
            ("SFHQ_pt1", Some(1)),
            ("SFHQ_pt4_no_features", Some(4)),
            ("sfhq-part-2.zip", Some(2)),
            ("SFHQ_part3.zip", Some(3)),
            ("archive.zip", None),
            ("SFHQ", None),
        ] {
            assert_eq!(part_from_name(name), part, "{name}");
        }
    }
}
