//! The licenses `package` accepts: exactly Kaggle's list (kaggle 2.2.5, docs/datasets_metadata.md),
//! because a Kaggle upload refuses any other name, each mapped to the identifier the Hugging
//! Face Hub uses in a card and to a URL for Croissant.
//!
//! Kaggle names without a Hub identifier become `other` on the Hub, with `license_name` and
//! `license_link`, as the Hub asks for licenses outside its list.

/// One accepted license.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct License {
    /// The name in Kaggle's list, spelled as Kaggle spells it.
    pub kaggle: &'static str,
    /// The Hub's `license:` identifier (lower-case), or `other`.
    pub hub: &'static str,
    /// The license text's canonical page; `None` for `other`, `unknown` and notices
    /// without one stable page.
    pub url: Option<&'static str>,
}

impl License {
    /// `license_name` for a card whose `license` is `other`: the Hub wants lower-case
    /// letters, digits, `-` and `.`.
    pub fn hub_other_name(&self) -> Option<String> {
        (self.hub == "other" && !matches!(self.kaggle, "other"))
            .then(|| self.kaggle.to_ascii_lowercase())
    }

    /// What Croissant's `license` says: the URL when there is one, else the name.
    pub fn croissant(&self) -> &'static str {
        self.url.unwrap_or(self.kaggle)
    }
}

const fn l(kaggle: &'static str, hub: &'static str, url: Option<&'static str>) -> License {
    License { kaggle, hub, url }
}

/// Kaggle's list, in the order its documentation gives.
pub const LICENSES: &[License] = &[
    l(
        "CC0-1.0",
        "cc0-1.0",
        Some("https://creativecommons.org/publicdomain/zero/1.0/"),
    ),
    l(
        "CC-BY-SA-3.0",
        "cc-by-sa-3.0",
        Some("https://creativecommons.org/licenses/by-sa/3.0/"),
    ),
    l(
        "CC-BY-SA-4.0",
        "cc-by-sa-4.0",
        Some("https://creativecommons.org/licenses/by-sa/4.0/"),
    ),
    l(
        "CC-BY-NC-SA-4.0",
        "cc-by-nc-sa-4.0",
        Some("https://creativecommons.org/licenses/by-nc-sa/4.0/"),
    ),
    l(
        "GPL-2.0",
        "gpl-2.0",
        Some("https://www.gnu.org/licenses/old-licenses/gpl-2.0.html"),
    ),
    l(
        "ODbL-1.0",
        "odbl",
        Some("https://opendatacommons.org/licenses/odbl/1-0/"),
    ),
    l(
        "DbCL-1.0",
        "other",
        Some("https://opendatacommons.org/licenses/dbcl/1-0/"),
    ),
    l("copyright-authors", "other", None),
    l("other", "other", None),
    l("unknown", "unknown", None),
    l(
        "CC-BY-4.0",
        "cc-by-4.0",
        Some("https://creativecommons.org/licenses/by/4.0/"),
    ),
    l(
        "CC-BY-NC-4.0",
        "cc-by-nc-4.0",
        Some("https://creativecommons.org/licenses/by-nc/4.0/"),
    ),
    l(
        "PDDL",
        "pddl",
        Some("https://opendatacommons.org/licenses/pddl/1-0/"),
    ),
    l(
        "CC-BY-3.0",
        "cc-by-3.0",
        Some("https://creativecommons.org/licenses/by/3.0/"),
    ),
    l(
        "CC-BY-3.0-IGO",
        "other",
        Some("https://creativecommons.org/licenses/by/3.0/igo/"),
    ),
    l(
        "US-Government-Works",
        "other",
        Some("https://www.usa.gov/government-copyright"),
    ),
    l(
        "CC-BY-NC-SA-3.0-IGO",
        "other",
        Some("https://creativecommons.org/licenses/by-nc-sa/3.0/igo/"),
    ),
    l(
        "CDLA-Permissive-1.0",
        "cdla-permissive-1.0",
        Some("https://cdla.dev/permissive-1-0/"),
    ),
    l(
        "CDLA-Sharing-1.0",
        "cdla-sharing-1.0",
        Some("https://cdla.dev/sharing-1-0/"),
    ),
    l(
        "CC-BY-ND-4.0",
        "cc-by-nd-4.0",
        Some("https://creativecommons.org/licenses/by-nd/4.0/"),
    ),
    l(
        "CC-BY-NC-ND-4.0",
        "cc-by-nc-nd-4.0",
        Some("https://creativecommons.org/licenses/by-nc-nd/4.0/"),
    ),
    l(
        "ODC-BY-1.0",
        "odc-by",
        Some("https://opendatacommons.org/licenses/by/1-0/"),
    ),
    l(
        "LGPL-3.0",
        "lgpl-3.0",
        Some("https://www.gnu.org/licenses/lgpl-3.0.html"),
    ),
    l(
        "AGPL-3.0",
        "agpl-3.0",
        Some("https://www.gnu.org/licenses/agpl-3.0.html"),
    ),
    l(
        "FDL-1.3",
        "gfdl",
        Some("https://www.gnu.org/licenses/fdl-1.3.html"),
    ),
    l("EU-ODP-Legal-Notice", "other", None),
    l(
        "apache-2.0",
        "apache-2.0",
        Some("https://www.apache.org/licenses/LICENSE-2.0"),
    ),
    l(
        "GPL-3.0",
        "gpl-3.0",
        Some("https://www.gnu.org/licenses/gpl-3.0.html"),
    ),
];

/// Finds a license by its Kaggle name or its Hub identifier, ignoring case (people type
/// `cc-by-4.0` as often as `CC-BY-4.0`).
pub fn find(name: &str) -> Option<&'static License> {
    let name = name.trim();
    LICENSES
        .iter()
        .find(|l| l.kaggle.eq_ignore_ascii_case(name))
        .or_else(|| {
            LICENSES
                .iter()
                .find(|l| l.hub != "other" && l.hub.eq_ignore_ascii_case(name))
        })
}

/// Resolves `--license`: exactly one name from the list, or every reason it is not.
pub fn parse(text: &str, kaggle: bool) -> Result<&'static License, String> {
    let names: Vec<&str> = text
        .split(|c: char| c == ',' || c == ';' || c == '+' || c == '/' || c.is_whitespace())
        .filter(|s| !s.is_empty())
        .filter(|s| !s.eq_ignore_ascii_case("and") && !s.eq_ignore_ascii_case("or"))
        .collect();
    match names.as_slice() {
        [] => Err("--license is empty: name one license, e.g. CC-BY-4.0".to_string()),
        [one] => match find(one) {
            Some(license) => Ok(license),
            // The card and Croissant take any SPDX identifier; Kaggle only its list.
            None if !kaggle && is_spdx_id(one) => Ok(spdx(one)),
            None if !kaggle => Err(format!(
                "--license {one:?} is not an SPDX license identifier (such as MIT, Apache-2.0, CC-BY-4.0)"
            )),
            None => Err(format!(
                "--license {one:?} is not in Kaggle's license list (--kaggle accepts only those); use one of: {}",
                LICENSES.iter().map(|l| l.kaggle).collect::<Vec<_>>().join(", ")
            )),
        },
        several => Err(format!(
            "--license names {} licenses ({}): a dataset carries exactly one license (Kaggle refuses more than one)",
            several.len(),
            several.join(", ")
        )),
    }
}

/// An SPDX identifier's shape: letters, digits, `-`, `.` and `+`.
fn is_spdx_id(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 64
        && text.starts_with(|c: char| c.is_ascii_alphanumeric())
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '+'))
}

/// A license outside Kaggle's list, for the card and Croissant: the Hub spells SPDX
/// identifiers in lower case (`mit`, `bsd-3-clause`). Leaked once per run: `License`
/// holds static names, and a command takes one license.
fn spdx(id: &str) -> &'static License {
    let kaggle: &'static str = Box::leak(id.to_string().into_boxed_str());
    let hub: &'static str = Box::leak(id.to_ascii_lowercase().into_boxed_str());
    Box::leak(Box::new(License {
        kaggle,
        hub,
        url: None,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_resolve_in_either_spelling() {
        assert_eq!(find("CC-BY-4.0").unwrap().hub, "cc-by-4.0");
        assert_eq!(find("cc-by-4.0").unwrap().kaggle, "CC-BY-4.0");
        assert_eq!(find("odbl").unwrap().kaggle, "ODbL-1.0");
        assert_eq!(find("Apache-2.0").unwrap().kaggle, "apache-2.0");
        assert!(find("MIT").is_none());
    }

    #[test]
    fn any_spdx_id_is_accepted_without_kaggle() {
        let mit = parse("MIT", false).unwrap();
        assert_eq!((mit.kaggle, mit.hub, mit.url), ("MIT", "mit", None));
        let refused = parse("MIT", true).unwrap_err();
        assert!(refused.contains("Kaggle's license list"), "{refused}");
        assert!(parse("not a license!", false).is_err());
    }

    #[test]
    fn exactly_one_license_is_accepted() {
        assert!(parse("CC0-1.0", true).is_ok());
        let two = parse("CC-BY-4.0,CC0-1.0", true).unwrap_err();
        assert!(two.contains("exactly one license"), "{two}");
        assert!(parse("CC-BY-4.0 AND MIT", true)
            .unwrap_err()
            .contains("exactly one"));
        assert!(parse("WTFPL", true)
            .unwrap_err()
            .contains("Kaggle's license list"));
    }

    #[test]
    fn other_licenses_get_a_hub_name() {
        let dbcl = find("DbCL-1.0").unwrap();
        assert_eq!(dbcl.hub, "other");
        assert_eq!(dbcl.hub_other_name().as_deref(), Some("dbcl-1.0"));
        assert_eq!(find("other").unwrap().hub_other_name(), None);
    }
}
