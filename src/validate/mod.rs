//! Validation: the catalogue of issue codes, the rules that produce them, and the report
//! that collects them.
//!
//! Bad data is never an `Err` here: a rule that fails yields an [`Issue`] value with a
//! stable code, a severity, the file and a message saying what is wrong and what to do.
//! Errors exclude the sample; warnings keep it and are counted.

pub mod report;
pub mod rules;
pub mod statistics;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// How much an issue matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Warning,
    Error,
}

macro_rules! codes {
    ($($variant:ident = $text:literal, $severity:ident;)*) => {
        /// Every issue sfhq-pack reports, as `<modality>.<rule>`. The strings are a stable
        /// interface: CI scripts match on them.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Code { $($variant,)* }

        impl Code {
            pub const ALL: &'static [Code] = &[$(Code::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self { $(Code::$variant => $text,)* }
            }

            pub fn severity(self) -> Severity {
                match self { $(Code::$variant => Severity::$severity,)* }
            }
        }
    };
}

codes! {
    ImageUnreadable = "image.unreadable", Error;
    ImageTruncated = "image.truncated", Error;
    ImageSize = "image.size", Error;
    ImageChannels = "image.channels", Error;
    ImageTooLarge = "image.too_large", Error;
    SegmentationUnreadable = "segmentation.unreadable", Error;
    SegmentationSize = "segmentation.size", Error;
    SegmentationNotUpscaled = "segmentation.not_upscaled", Error;
    SegmentationBlocks = "segmentation.blocks", Warning;
    SegmentationPalette = "segmentation.palette", Warning;
    SegmentationLabels = "segmentation.labels", Error;
    SegmentationChannels = "segmentation.channels", Error;
    SegmentationTooLarge = "segmentation.too_large", Error;
    LandmarksUnreadable = "landmarks.unreadable", Error;
    LandmarksShape = "landmarks.shape", Error;
    LandmarksNonfinite = "landmarks.nonfinite", Error;
    LandmarksNotUpscaled = "landmarks.not_upscaled", Error;
    LandmarksOutOfBounds = "landmarks.out_of_bounds", Warning;
    LandmarksTooLarge = "landmarks.too_large", Error;
    FeaturesUnreadable = "features.unreadable", Error;
    FeaturesUnsafe = "features.unsafe", Error;
    FeaturesShape = "features.shape", Error;
    FeaturesNonfinite = "features.nonfinite", Error;
    FeaturesDimMismatch = "features.dim_mismatch", Error;
    FeaturesTooLarge = "features.too_large", Error;
    SampleMissing = "sample.missing", Error;
    SampleNearDuplicate = "sample.near_duplicate", Warning;
    SourceOrphan = "source.orphan", Warning;
    SourceIncomplete = "source.incomplete", Warning;
    SourceUnsafePath = "source.unsafe_path", Error;
    SourceDuplicate = "source.duplicate", Error;
    SourceChanged = "source.changed", Error;
}

impl Serialize for Code {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Code {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Code::ALL
            .iter()
            .copied()
            .find(|c| c.as_str() == text)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown issue code '{text}'")))
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One finding about one file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Issue {
    pub code: Code,
    pub severity: Severity,
    pub file: String,
    pub message: String,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

impl Issue {
    pub fn new(code: Code, file: impl Into<String>, message: impl Into<String>) -> Issue {
        Issue {
            code,
            severity: code.severity(),
            file: file.into(),
            message: message.into(),
        }
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_have_the_documented_form_and_warnings() {
        let modalities = [
            "image",
            "segmentation",
            "landmarks",
            "features",
            "sample",
            "source",
        ];
        for code in Code::ALL {
            let (modality, rule) = code.as_str().split_once('.').unwrap();
            assert!(modalities.contains(&modality), "{code}");
            assert!(
                rule.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
                "{code}"
            );
        }
        let warnings: Vec<&str> = Code::ALL
            .iter()
            .filter(|c| c.severity() == Severity::Warning)
            .map(|c| c.as_str())
            .collect();
        assert_eq!(
            warnings,
            [
                "segmentation.blocks",
                "segmentation.palette",
                "landmarks.out_of_bounds",
                "sample.near_duplicate",
                "source.orphan",
                "source.incomplete"
            ]
        );
    }
}
