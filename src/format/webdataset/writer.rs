//! WebDataset shards: plain tar files that `webdataset`, `wids`, the Hugging Face tar
//! loader and DALI read unchanged.
//!
//! Readers take a sample's key as the member name up to its first dot and start a new
//! sample whenever the key changes, so a sample's members are written adjacent, in one
//! fixed order, with lower-case extensions, and keys never contain a dot (`convert`
//! refuses such keys before writing). Every sample has the same member set, because the
//! Hugging Face loader refuses mixed sets: a modality a sample lacks is written as a
//! stand-in (an array of NaN of the column's shape, a zero-byte map) and named in
//! `KEY.json` under `missing`. Headers are ustar, regular files only, mode 0644,
//! uid/gid 0, empty owner names and a fixed mtime, so the same input gives the same bytes.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context;

use super::names::{member_size, Files, SampleInfo, BLOCK};
use super::WDS_DIR;
use crate::decode::array::{Array, DType};
use crate::encode::npy::write_npy;
use crate::format::shard::{self, SealedShard, ShardFormat, ShardWriter};
use crate::format::shard_files::{ShardEncoder, ShardFiles, ShardedSink};
use crate::sample::{Payload, Sample};
use crate::schema::DatasetSchema;

/// Writes `webdataset/{split}-{i:06}.tar`.
pub(crate) type WebDatasetSink = ShardedSink<TarEncoder>;

type TarFiles = ShardFiles<tar::Builder<ShardWriter>>;

/// What goes inside a tar shard, and where shards are cut.
pub(crate) struct TarEncoder {
    schema: DatasetSchema,
    shard_size: u64,
    landmark_count: usize,
    mtime: u64,
    /// Tar bytes of the shard being written, headers and padding included.
    shard_bytes: u64,
}

impl WebDatasetSink {
    /// `resumed`: shards an interrupted run sealed (`convert --resume`); the next shard
    /// continues their numbering.
    pub fn new(
        out: &Path,
        split: &str,
        schema: &DatasetSchema,
        shard_size: u64,
        landmark_count: usize,
        mtime: u64,
        resumed: Vec<SealedShard>,
    ) -> anyhow::Result<Self> {
        let files = ShardFiles::new(
            out,
            WDS_DIR,
            split,
            ShardFormat::Webdataset,
            |split, i, _| format!("{split}-{i:06}.tar"),
            resumed,
        )?;
        let encoder = TarEncoder {
            schema: schema.clone(),
            shard_size,
            landmark_count,
            mtime,
            shard_bytes: 0,
        };
        Ok(ShardedSink::from_parts(encoder, files))
    }
}

impl TarEncoder {
    /// The members of one sample, in their fixed order.
    fn members(&self, sample: &Sample) -> anyhow::Result<Vec<(String, Vec<u8>)>> {
        let key = &*sample.key;
        let p: &Payload = &sample.payload;
        let mut missing = Vec::new();
        let mut source_dtypes = BTreeMap::new();
        let mut members = Vec::with_capacity(4 + self.schema.features.len());

        let image_ext = match p
            .image
            .name
            .rsplit_once('.')
            .map(|(_, e)| e.to_ascii_lowercase())
        {
            Some(e) if e == "png" => "png",
            _ => "jpg",
        };
        members.push((format!("{key}.{image_ext}"), p.image.bytes.clone()));

        let segmentation = p
            .segmentation
            .as_ref()
            .map(|s| s.bytes.clone())
            .unwrap_or_else(|| {
                missing.push("segmentation".to_string());
                Vec::new()
            });
        members.push((format!("{key}.seg.png"), segmentation));

        let mut npy = Vec::new();
        match &p.landmarks {
            Some(l) => {
                if l.value.dtype != self.schema.landmarks {
                    source_dtypes.insert(
                        "landmarks.npy".to_string(),
                        l.value.dtype.name().to_string(),
                    );
                }
                write_npy(&l.value, self.schema.landmarks, &mut npy)
            }
            None => {
                missing.push("landmarks".to_string());
                write_npy(
                    &stand_in(self.schema.landmarks, &[self.landmark_count, 2]),
                    self.schema.landmarks,
                    &mut npy,
                );
            }
        }
        members.push((format!("{key}.landmarks.npy"), npy));

        for column in &self.schema.features {
            let mut npy = Vec::new();
            match p.feature(&column.model) {
                Some(array) => {
                    if array.dtype != column.dtype {
                        source_dtypes.insert(
                            format!("{}.npy", column.wds_name),
                            array.dtype.name().to_string(),
                        );
                    }
                    write_npy(array, column.dtype, &mut npy)
                }
                None => {
                    missing.push(format!("pretrained_features.{}", column.model));
                    write_npy(
                        &stand_in(column.dtype, &[1, column.dim]),
                        column.dtype,
                        &mut npy,
                    );
                }
            }
            members.push((format!("{key}.{}.npy", column.wds_name), npy));
        }

        let files = Files {
            image: p.image.name.clone(),
            segmentation: p.segmentation.as_ref().map(|b| b.name.clone()),
            landmarks: p.landmarks.as_ref().map(|l| l.name.clone()),
            pretrained_features: p.features.as_ref().map(|f| f.name.clone()),
        };
        let sha256 = Files {
            image: p.image.sha256.clone(),
            segmentation: p.segmentation.as_ref().map(|b| b.sha256.clone()),
            landmarks: p.landmarks.as_ref().map(|l| l.sha256.clone()),
            pretrained_features: p.features.as_ref().map(|f| f.sha256.clone()),
        };
        let info = SampleInfo {
            key: key.to_string(),
            part: sample.part,
            width: p.width,
            height: p.height,
            files,
            sha256,
            pretrained_features: self
                .schema
                .features
                .iter()
                .map(|f| (f.wds_name.clone(), f.model.clone()))
                .collect(),
            missing,
            source_dtypes,
            source_sha256: p.source.clone(),
        };
        members.push((format!("{key}.json"), serde_json::to_vec(&info)?));
        Ok(members)
    }

    fn header(&self, name: &str, len: usize) -> anyhow::Result<tar::Header> {
        let mut header = tar::Header::new_ustar();
        header
            .set_path(name)
            .with_context(|| format!("{name}: cannot be a tar member name"))?;
        header.set_size(len as u64);
        header.set_entry_type(tar::EntryType::Regular);
        header.set_mode(0o644);
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(self.mtime);
        header.set_username("")?;
        header.set_groupname("")?;
        header.set_cksum();
        Ok(header)
    }
}

/// A stand-in for an array the sample lacks, of its column's shape and dtype, filled with
/// NaN (zero for integer columns). The Hugging Face loader fixes each member's type from
/// the first samples and refuses any other later, so an empty or absent member would make
/// the whole dataset unloadable; `KEY.json` lists the stand-ins under `missing`.
fn stand_in(dtype: DType, shape: &[usize]) -> Array {
    let count: usize = shape.iter().product();
    let nan = Array {
        dtype: DType::F64,
        shape: shape.to_vec(),
        data: f64::NAN.to_le_bytes().repeat(count),
    };
    if dtype.is_float() {
        nan.cast(dtype)
    } else {
        Array {
            dtype,
            shape: shape.to_vec(),
            data: vec![0; count * dtype.itemsize()],
        }
    }
}

impl ShardEncoder for TarEncoder {
    type Writer = tar::Builder<ShardWriter>;

    fn add(&mut self, files: &mut TarFiles, sample: &Arc<Sample>) -> anyhow::Result<()> {
        let members = self.members(sample)?;
        let size: u64 = members
            .iter()
            .map(|(_, data)| member_size(data.len()))
            .sum();
        let end = 2 * BLOCK;
        if shard::starts_new_shard(
            files.open_rows(),
            self.shard_bytes,
            size,
            end,
            self.shard_size,
        ) {
            self.seal(files)?;
        }
        let open = files.open_or_start(&sample.key, |file| Ok(tar::Builder::new(file)))?;
        let headers = members
            .iter()
            .map(|(name, data)| self.header(name, data.len()))
            .collect::<anyhow::Result<Vec<_>>>()?;
        for ((_, data), header) in members.iter().zip(&headers) {
            open.writer.append(header, data.as_slice())?;
        }
        open.add_rows(1, &sample.key);
        self.shard_bytes += size;
        Ok(())
    }

    fn seal(&mut self, files: &mut TarFiles) -> anyhow::Result<()> {
        self.shard_bytes = 0;
        // `into_inner` writes the two zero blocks that end the archive.
        files.seal(|builder| Ok(builder.into_inner()?))
    }
}
