//! Splits: a sample's split is a pure function of its key and the split seed, so the same
//! key lands in the same split in every run, in a partial conversion, and when another part
//! is added to the dataset.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The split every sample not drawn into another one goes to.
pub const TRAIN: &str = "train";

/// Named fractions of the dataset; `train` takes what the others leave.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SplitPlan {
    /// Splits other than `train`, sorted by name (so the order on the command line does not
    /// change the assignment), each with its fraction. In JSON an object, `{"test": 0.02}`.
    #[serde(with = "fractions_as_object")]
    pub fractions: Vec<(String, f64)>,
    pub seed: u64,
}

/// `fractions` as a JSON object keyed by split name, in name order. Reading also accepts the
/// `[["test", 0.02]]` pairs that sfhq-pack wrote before, so that earlier outputs still
/// verify, extract and package. Either way the list comes back sorted by name, the order the
/// draw depends on.
mod fractions_as_object {
    use std::collections::BTreeMap;

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(
        fractions: &[(String, f64)],
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        let sorted: BTreeMap<&str, f64> = fractions.iter().map(|(n, f)| (n.as_str(), *f)).collect();
        sorted.serialize(serializer)
    }

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Written {
        Object(BTreeMap<String, f64>),
        Pairs(Vec<(String, f64)>),
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Vec<(String, f64)>, D::Error> {
        let mut fractions: Vec<(String, f64)> = match Written::deserialize(deserializer)? {
            Written::Object(map) => map.into_iter().collect(),
            Written::Pairs(pairs) => pairs,
        };
        fractions.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(fractions)
    }
}

impl SplitPlan {
    /// Parses `test=0.02,validation=0.01`.
    pub fn parse(text: &str, seed: u64) -> Result<SplitPlan, String> {
        let mut fractions = Vec::new();
        for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (name, value) = item
                .split_once('=')
                .ok_or_else(|| format!("'{item}' is not NAME=FRACTION (e.g. test=0.02)"))?;
            let name = name.trim();
            if name.is_empty()
                || !name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
            {
                return Err(format!(
                    "split name '{name}' must be lower-case letters, digits and '_'"
                ));
            }
            if name == TRAIN {
                return Err(
                    "train takes what the other splits leave: name only the others".to_string(),
                );
            }
            let fraction: f64 = value
                .trim()
                .parse()
                .map_err(|_| format!("'{value}' is not a fraction between 0 and 1"))?;
            if !(fraction > 0.0 && fraction < 1.0) {
                return Err(format!(
                    "fraction {fraction} of '{name}' must lie strictly between 0 and 1"
                ));
            }
            if fractions.iter().any(|(n, _)| n == name) {
                return Err(format!("split '{name}' is named twice"));
            }
            fractions.push((name.to_string(), fraction));
        }
        let total: f64 = fractions.iter().map(|(_, f)| f).sum();
        if total >= 1.0 {
            return Err(format!(
                "the fractions add up to {total}, leaving nothing for train"
            ));
        }
        fractions.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(SplitPlan { fractions, seed })
    }

    /// Every split name, `train` first.
    pub fn names(&self) -> Vec<&str> {
        std::iter::once(TRAIN)
            .chain(self.fractions.iter().map(|(n, _)| n.as_str()))
            .collect()
    }

    /// The split of a key: the first 8 bytes of sha256(seed, key) as a number in [0, 1),
    /// compared with the running sum of the fractions.
    pub fn split_of(&self, key: &str) -> &str {
        if self.fractions.is_empty() {
            return TRAIN;
        }
        let mut hasher = Sha256::new();
        hasher.update(self.seed.to_le_bytes());
        hasher.update(key.as_bytes());
        let digest = hasher.finalize();
        let draw =
            u64::from_be_bytes(digest[..8].try_into().expect("8 bytes")) as f64 / 2f64.powi(64);
        let mut edge = 0.0;
        for (name, fraction) in &self.fractions {
            edge += fraction;
            if draw < edge {
                return name;
            }
        }
        TRAIN
    }

    /// The split of a key when near-duplicates must stay together: a key in a group takes
    /// the split its group's smallest key draws (`groups` maps each grouped key to it, see
    /// `dedup::group_map`); any other key keeps [`SplitPlan::split_of`].
    pub fn split_of_grouped(
        &self,
        key: &str,
        groups: &std::collections::HashMap<String, String>,
    ) -> &str {
        self.split_of(groups.get(key).map_or(key, String::as_str))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assignment_depends_on_key_and_seed_only() {
        let a = SplitPlan::parse("validation=0.1,test=0.2", 7).unwrap();
        let b = SplitPlan::parse("test=0.2,validation=0.1", 7).unwrap();
        assert_eq!(a, b, "order on the command line does not matter");
        let keys: Vec<String> = (0..20_000).map(|i| format!("SFHQ_pt1_{i:08}")).collect();
        let mut counts = std::collections::BTreeMap::new();
        for key in &keys {
            assert_eq!(a.split_of(key), b.split_of(key));
            *counts.entry(a.split_of(key)).or_insert(0) += 1;
        }
        // 20,000 draws: within 1.5 percentage points of the asked fractions.
        assert!(
            (counts["test"] as f64 / 20_000.0 - 0.2).abs() < 0.015,
            "{counts:?}"
        );
        assert!(
            (counts["validation"] as f64 / 20_000.0 - 0.1).abs() < 0.015,
            "{counts:?}"
        );
        let other_seed = SplitPlan::parse("validation=0.1,test=0.2", 8).unwrap();
        assert!(keys.iter().any(|k| other_seed.split_of(k) != a.split_of(k)));
    }

    #[test]
    fn a_group_takes_the_split_of_its_smallest_key() {
        let plan = SplitPlan::parse("test=0.5", 3).unwrap();
        let keys: Vec<String> = (0..40).map(|i| format!("k{i:02}")).collect();
        let group: std::collections::HashMap<String, String> = keys[..10]
            .iter()
            .map(|k| (k.clone(), keys[0].clone()))
            .collect();
        for key in &keys[..10] {
            assert_eq!(plan.split_of_grouped(key, &group), plan.split_of(&keys[0]));
        }
        for key in &keys[10..] {
            assert_eq!(plan.split_of_grouped(key, &group), plan.split_of(key));
        }
    }

    #[test]
    fn fractions_are_a_json_object_in_name_order() {
        let plan = SplitPlan::parse("validation=0.01,test=0.02", 5).unwrap();
        let json = serde_json::to_string(&plan).unwrap();
        assert_eq!(
            json,
            r#"{"fractions":{"test":0.02,"validation":0.01},"seed":5}"#
        );
        let back: SplitPlan = serde_json::from_str(&json).unwrap();
        assert_eq!(back, plan);
        // Manifests written before held [name, fraction] pairs.
        let old: SplitPlan =
            serde_json::from_str(r#"{"fractions":[["validation",0.01],["test",0.02]],"seed":5}"#)
                .unwrap();
        assert_eq!(old, plan);
        assert_eq!(
            serde_json::to_string(&SplitPlan::default()).unwrap(),
            r#"{"fractions":{},"seed":0}"#
        );
    }

    #[test]
    fn bad_plans_are_explained() {
        assert!(SplitPlan::parse("test=0.6,validation=0.5", 0)
            .unwrap_err()
            .contains("nothing for train"));
        assert!(SplitPlan::parse("train=0.5", 0)
            .unwrap_err()
            .contains("name only the others"));
        assert!(SplitPlan::parse("Test=0.1", 0)
            .unwrap_err()
            .contains("lower-case"));
        assert!(SplitPlan::parse("test", 0)
            .unwrap_err()
            .contains("NAME=FRACTION"));
        assert_eq!(SplitPlan::parse("", 0).unwrap().names(), ["train"]);
    }
}
