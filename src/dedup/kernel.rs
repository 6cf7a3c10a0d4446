//! The all-pairs search: blocked matrix products as a filter, then an exact float32 check of
//! every candidate.
//!
//! **What "exact" means here.** Each stored vector `x` is taken as float32 (float16 widens
//! exactly, float64 is rounded once) and divided by its L2 norm (summed in f64) to give the
//! float32 unit vector `u`. The similarity of two samples is `u_a . u_b` summed in f64 (every
//! product of two float32 values is exact in f64, so the order of summation does not matter)
//! and rounded to float32; a pair is kept when that value is `>=` the threshold rounded to
//! float32, which is what numpy's `sim >= t` does on a float32 matrix.
//!
//! **Why the filter misses nothing.** The products run in float32 through `faer`, in whatever
//! order its kernels choose. For any order, with or without fused multiply-add, the computed
//! dot product of two length-`d` vectors differs from the true one by at most
//! `gamma_d * sum |u_a,k| |u_b,k| <= gamma_d * |u_a| |u_b|` with `gamma_d = d*eps/(1-d*eps)`
//! and `eps = 2^-24` (Higham, *Accuracy and Stability of Numerical Algorithms*, 3.1), and the
//! unit vectors have norm `1 +- d*eps`. [`filter_margin`] is twice that bound (9.2e-5 for
//! d = 768): every pair whose exact similarity reaches the threshold has a filtered value of at
//! least `threshold - margin`, so it becomes a candidate and is then decided exactly.
//!
//! **Memory.** Only the stored vectors stay in memory (float16 when every source vector was
//! float16, float32 otherwise), plus one f64 scale per row. Unit vectors are made per tile:
//! per worker one row block of [`ROW_BLOCK`] vectors, one column block of [`COL_BLOCK`]
//! vectors and their `ROW_BLOCK x COL_BLOCK` product (about 32 MB), whatever the dataset size.
//!
//! **Work.** Only tiles on or above the diagonal are computed (each pair once), as one flat
//! list shared by the workers, each tile a single-threaded `faer` product.

use std::sync::atomic::{AtomicBool, Ordering};

use faer::{Accum, MatMut, MatRef, Par};
use half::f16;
use half::slice::HalfFloatSliceExt;
use rayon::prelude::*;

/// Vectors per row block: a worker keeps its unit vectors while it goes along the row.
pub const ROW_BLOCK: usize = 4096;
/// Vectors per column block: one per worker at a time.
pub const COL_BLOCK: usize = 1024;

/// The stored vectors, one row each, in their source precision.
#[derive(Debug, Clone)]
enum Storage {
    F16(Vec<f16>),
    F32(Vec<f32>),
}

/// Why a vector cannot be compared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejected {
    Length { found: usize, expected: usize },
    NonFinite,
    Zero,
}

impl std::fmt::Display for Rejected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Rejected::Length { found, expected } => {
                write!(f, "vector of length {found}, expected {expected}")
            }
            Rejected::NonFinite => f.write_str("vector has NaN or infinite values"),
            Rejected::Zero => f.write_str("vector is all zeros: it has no direction"),
        }
    }
}

/// A vector as read from a source, before it joins the store.
#[derive(Debug, Clone)]
pub enum RawVector {
    F16(Vec<f16>),
    F32(Vec<f32>),
    /// float64 sources: compared in float32, like every other vector.
    F64(Vec<f64>),
}

impl RawVector {
    pub fn len(&self) -> usize {
        match self {
            RawVector::F16(v) => v.len(),
            RawVector::F32(v) => v.len(),
            RawVector::F64(v) => v.len(),
        }
    }

    /// Checks the vector and returns it ready for [`Vectors::push`] with `1 / |x|`.
    pub fn prepare(self, dim: usize) -> Result<(RawVector, f64), Rejected> {
        if self.len() != dim {
            return Err(Rejected::Length {
                found: self.len(),
                expected: dim,
            });
        }
        let vector = match self {
            RawVector::F64(v) => RawVector::F32(v.iter().map(|&x| x as f32).collect()),
            other => other,
        };
        let mut sum = 0.0f64;
        let mut finite = true;
        let mut add = |x: f32| {
            finite &= x.is_finite();
            sum += f64::from(x) * f64::from(x);
        };
        match &vector {
            RawVector::F16(v) => v.iter().for_each(|x| add(x.to_f32())),
            RawVector::F32(v) => v.iter().for_each(|&x| add(x)),
            RawVector::F64(_) => unreachable!("converted above"),
        }
        if !finite || !sum.is_finite() {
            return Err(Rejected::NonFinite);
        }
        if sum == 0.0 {
            return Err(Rejected::Zero);
        }
        Ok((vector, 1.0 / sum.sqrt()))
    }
}

/// Every comparable vector, row-major, with one scale per row.
#[derive(Debug, Clone)]
pub struct Vectors {
    dim: usize,
    storage: Storage,
    inv_norms: Vec<f64>,
}

impl Vectors {
    pub fn new(dim: usize) -> Vectors {
        Vectors {
            dim,
            storage: Storage::F16(Vec::new()),
            inv_norms: Vec::new(),
        }
    }

    pub fn dim(&self) -> usize {
        self.dim
    }

    pub fn len(&self) -> usize {
        self.inv_norms.len()
    }

    /// `float16` while every vector so far was float16, else `float32`.
    pub fn dtype_name(&self) -> &'static str {
        match self.storage {
            Storage::F16(_) => "float16",
            Storage::F32(_) => "float32",
        }
    }

    /// Bytes held by the vectors themselves.
    pub fn bytes(&self) -> usize {
        match &self.storage {
            Storage::F16(v) => v.len() * 2,
            Storage::F32(v) => v.len() * 4,
        }
    }

    /// Adds a vector returned by [`RawVector::prepare`]. The first float32 vector widens
    /// the store to float32 (exactly: every float16 is a float32).
    pub fn push(&mut self, vector: RawVector, inv_norm: f64) {
        assert_eq!(vector.len(), self.dim, "prepare checked the length");
        match (&mut self.storage, vector) {
            (Storage::F16(store), RawVector::F16(v)) => store.extend_from_slice(&v),
            (Storage::F32(store), RawVector::F16(v)) => store.extend(v.iter().map(|x| x.to_f32())),
            (Storage::F32(store), RawVector::F32(v)) => store.extend_from_slice(&v),
            (Storage::F16(store), RawVector::F32(v)) => {
                let mut wide: Vec<f32> = Vec::with_capacity(store.len() + v.len());
                wide.extend(store.iter().map(|x| x.to_f32()));
                wide.extend_from_slice(&v);
                self.storage = Storage::F32(wide);
            }
            (_, RawVector::F64(_)) => unreachable!("prepare converts float64 to float32"),
        }
        self.inv_norms.push(inv_norm);
    }

    /// Writes the float32 unit vector of `row` into `out`.
    fn unit_into(&self, row: usize, out: &mut [f32]) {
        let d = self.dim;
        let scale = self.inv_norms[row];
        match &self.storage {
            Storage::F16(v) => {
                // The slice conversion picks F16C at run time (the scalar one is software
                // unless the build targets it); float16 -> float32 is exact either way.
                v[row * d..(row + 1) * d].convert_to_f32_slice(out);
                for o in out.iter_mut() {
                    *o = (f64::from(*o) * scale) as f32;
                }
            }
            Storage::F32(v) => {
                for (o, &x) in out.iter_mut().zip(&v[row * d..(row + 1) * d]) {
                    *o = (f64::from(x) * scale) as f32;
                }
            }
        }
    }

    /// Unit vectors of rows `start..end`, row-major, into `out`.
    fn units_into(&self, start: usize, end: usize, out: &mut [f32]) {
        let d = self.dim;
        for (i, row) in (start..end).enumerate() {
            self.unit_into(row, &mut out[i * d..(i + 1) * d]);
        }
    }

    /// The exact similarity of two rows (see the module documentation); the tests' reference.
    #[cfg(test)]
    pub fn similarity(&self, a: usize, b: usize) -> f32 {
        let d = self.dim;
        let (mut ua, mut ub) = (vec![0f32; d], vec![0f32; d]);
        self.unit_into(a, &mut ua);
        self.unit_into(b, &mut ub);
        exact_dot(&ua, &ub)
    }
}

/// `u . v` summed in f64 (each product is exact there), rounded once to float32.
fn exact_dot(u: &[f32], v: &[f32]) -> f32 {
    u.iter()
        .zip(v)
        .map(|(&a, &b)| f64::from(a) * f64::from(b))
        .sum::<f64>() as f32
}

/// How far below the threshold a float32 product may fall while the exact similarity still
/// reaches it: twice the worst-case error of a length-`dim` float32 dot product of unit
/// vectors, in any summation order (see the module documentation).
pub fn filter_margin(dim: usize) -> f32 {
    let eps = f64::from(f32::EPSILON) / 2.0;
    let d = dim as f64;
    let gamma = d * eps / (1.0 - d * eps);
    (2.0 * gamma * (1.0 + d * eps).powi(2) + 1e-6) as f32
}

/// A pair of rows whose exact similarity reaches the threshold; `a < b`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hit {
    pub a: u32,
    pub b: u32,
    pub similarity: f32,
}

/// What the search did.
#[derive(Debug, Clone, Copy, Default)]
pub struct SearchStats {
    /// Pairs the float32 products let through to the exact check.
    pub candidates: u64,
    /// Pairs compared (n (n - 1) / 2).
    pub pairs: u64,
    pub interrupted: bool,
}

/// Every pair of rows whose exact similarity is `>= threshold` (rounded to float32), with
/// `threads` workers. `progress` is called with the number of tiles done, out of
/// [`tile_count`].
pub fn search(
    vectors: &Vectors,
    threshold: f32,
    threads: usize,
    stop: &AtomicBool,
    progress: &(dyn Fn(u64) + Sync),
) -> anyhow::Result<(Vec<Hit>, SearchStats)> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads.max(1))
        .build()?;
    Ok(pool.install(|| search_blocks(vectors, threshold, ROW_BLOCK, COL_BLOCK, stop, progress)))
}

/// The tiles on or above the diagonal: (first row, first column), row-major.
fn tiles(n: usize, row_block: usize, col_block: usize) -> Vec<(usize, usize)> {
    let mut tiles = Vec::new();
    for row_start in (0..n).step_by(row_block) {
        // Column blocks are aligned; skip those entirely at or left of the block's first row.
        let first_col = (row_start + 1) / col_block * col_block;
        for col_start in (first_col..n).step_by(col_block) {
            tiles.push((row_start, col_start));
        }
    }
    tiles
}

/// How many tiles [`search`] computes for `n` vectors (its progress total).
pub fn tile_count(n: usize) -> u64 {
    tiles(n, ROW_BLOCK, COL_BLOCK).len() as u64
}

/// A worker's buffers: the unit vectors of the row block it last used (rows rarely change
/// between consecutive tiles), of one column block, and one product tile.
#[derive(Default)]
struct Buffers {
    /// (search, first row) of the row block in `rows`: a thread serves several searches.
    row_block: Option<(u64, usize)>,
    rows: Vec<f32>,
    cols: Vec<f32>,
    tile: Vec<f32>,
}

/// Numbers each search, so that a worker never reuses another search's row block.
static SEARCHES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

thread_local! {
    static BUFFERS: std::cell::RefCell<Buffers> = std::cell::RefCell::new(Buffers::default());
}

/// Tiles handed out between two looks at the stop flag.
const TILES_PER_ROUND: usize = 64;

fn search_blocks(
    vectors: &Vectors,
    threshold: f32,
    row_block: usize,
    col_block: usize,
    stop: &AtomicBool,
    progress: &(dyn Fn(u64) + Sync),
) -> (Vec<Hit>, SearchStats) {
    let n = vectors.len();
    let search = SEARCHES.fetch_add(1, Ordering::Relaxed);
    let cut = threshold - filter_margin(vectors.dim());
    let mut hits = Vec::new();
    let mut stats = SearchStats {
        pairs: (n as u64) * (n.saturating_sub(1) as u64) / 2,
        ..SearchStats::default()
    };
    // One flat list of tiles for all workers: nobody waits at the end of a row block.
    for round in tiles(n, row_block, col_block).chunks(TILES_PER_ROUND) {
        if stop.load(Ordering::SeqCst) {
            stats.interrupted = true;
            break;
        }
        let found: Vec<(Vec<Hit>, u64)> = round
            .par_iter()
            .map(|&(row_start, col_start)| {
                BUFFERS.with(|b| {
                    let mut b = b.borrow_mut();
                    let b = &mut *b;
                    tile_pairs(
                        vectors,
                        (search, row_start, col_start),
                        (row_block, col_block),
                        cut,
                        threshold,
                        b,
                    )
                })
            })
            .collect();
        for (found, candidates) in found {
            hits.extend(found);
            stats.candidates += candidates;
        }
        progress(round.len() as u64);
    }
    hits.sort_unstable_by_key(|h| (h.a, h.b));
    (hits, stats)
}

/// The pairs of one tile whose exact similarity reaches the threshold, and how many
/// candidates the float32 product let through.
fn tile_pairs(
    vectors: &Vectors,
    (search, row_start, col_start): (u64, usize, usize),
    (row_block, col_block): (usize, usize),
    cut: f32,
    threshold: f32,
    b: &mut Buffers,
) -> (Vec<Hit>, u64) {
    let n = vectors.len();
    let d = vectors.dim();
    let rows = (row_start + row_block).min(n) - row_start;
    let cols = (col_start + col_block).min(n) - col_start;
    if b.row_block != Some((search, row_start)) || b.rows.len() != rows * d {
        b.rows.resize(rows * d, 0.0);
        vectors.units_into(row_start, row_start + rows, &mut b.rows);
        b.row_block = Some((search, row_start));
    }
    b.cols.resize(cols * d, 0.0);
    vectors.units_into(col_start, col_start + cols, &mut b.cols);
    b.tile.resize(rows * cols, 0.0);
    let lhs = MatRef::from_row_major_slice(&b.rows, rows, d);
    let rhs = MatRef::from_row_major_slice(&b.cols, cols, d);
    let out = MatMut::from_row_major_slice_mut(&mut b.tile, rows, cols);
    faer::linalg::matmul::matmul(out, Accum::Replace, lhs, rhs.transpose(), 1.0f32, Par::Seq);
    let mut found = Vec::new();
    let mut candidates = 0u64;
    for i in 0..rows {
        let a = row_start + i;
        // Only pairs with b > a: the diagonal tiles hold each pair twice, and a with itself.
        let first = (a + 1).max(col_start) - col_start;
        let line = &b.tile[i * cols..(i + 1) * cols];
        for (j, &value) in line.iter().enumerate().skip(first) {
            if value >= cut {
                candidates += 1;
                let exact = exact_dot(&b.rows[i * d..(i + 1) * d], &b.cols[j * d..(j + 1) * d]);
                if exact >= threshold {
                    found.push(Hit {
                        a: a as u32,
                        b: (col_start + j) as u32,
                        similarity: exact,
                    });
                }
            }
        }
    }
    (found, candidates)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small deterministic generator (splitmix64), so the tests need no extra crate.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        }

        fn uniform(&mut self) -> f64 {
            (self.next() >> 11) as f64 / (1u64 << 53) as f64
        }

        fn normal(&mut self) -> f64 {
            let (u, v) = (self.uniform().max(1e-300), self.uniform());
            (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
        }

        fn unit(&mut self, d: usize) -> Vec<f64> {
            let v: Vec<f64> = (0..d).map(|_| self.normal()).collect();
            let n = v.iter().map(|x| x * x).sum::<f64>().sqrt();
            v.into_iter().map(|x| x / n).collect()
        }
    }

    fn store(rows: &[Vec<f32>]) -> Vectors {
        let mut v = Vectors::new(rows[0].len());
        for r in rows {
            let (raw, inv) = RawVector::F32(r.clone()).prepare(r.len()).unwrap();
            v.push(raw, inv);
        }
        v
    }

    /// Brute force with the exact similarity, for comparison.
    fn brute(v: &Vectors, threshold: f32) -> Vec<(u32, u32)> {
        let mut out = Vec::new();
        for a in 0..v.len() {
            for b in a + 1..v.len() {
                if v.similarity(a, b) >= threshold {
                    out.push((a as u32, b as u32));
                }
            }
        }
        out
    }

    fn pairs(hits: &[Hit]) -> Vec<(u32, u32)> {
        let mut p: Vec<(u32, u32)> = hits.iter().map(|h| (h.a, h.b)).collect();
        p.sort_unstable();
        p
    }

    /// `base` turned by the angle whose cosine is `s`, towards a random direction.
    fn at_similarity(rng: &mut Rng, base: &[f64], s: f64) -> Vec<f64> {
        let d = base.len();
        let w = rng.unit(d);
        let dot: f64 = w.iter().zip(base).map(|(a, b)| a * b).sum();
        let mut w: Vec<f64> = w.iter().zip(base).map(|(x, b)| x - dot * b).collect();
        let n = w.iter().map(|x| x * x).sum::<f64>().sqrt();
        w.iter_mut().for_each(|x| *x /= n);
        base.iter()
            .zip(&w)
            .map(|(b, x)| s * b + (1.0 - s * s).sqrt() * x)
            .collect()
    }

    #[test]
    fn margin_covers_the_float32_error_bound() {
        let m = filter_margin(768);
        assert!(m > 9.0e-5 && m < 1.0e-4, "{m}");
        assert!(filter_margin(1024) > filter_margin(768));
    }

    fn quantize(row: &[f64], half: bool) -> RawVector {
        if half {
            RawVector::F16(row.iter().map(|&x| f16::from_f64(x)).collect())
        } else {
            RawVector::F32(row.iter().map(|&x| x as f32).collect())
        }
    }

    fn exact_pair(a: &[f64], b: &[f64], half: bool) -> f32 {
        let mut v = Vectors::new(a.len());
        for row in [a, b] {
            let (raw, inv) = quantize(row, half).prepare(a.len()).unwrap();
            v.push(raw, inv);
        }
        v.similarity(0, 1)
    }

    #[test]
    fn the_filter_never_drops_a_pair_that_float32_keeps() {
        // Pairs planted within 1e-4 of the threshold (after rounding to the stored precision),
        // on both sides, stored in float32 and in float16, among unrelated vectors; blocks of
        // several sizes so that pairs straddle tiles and the diagonal. Whatever the float32
        // products say, the result must equal brute force with the exact similarity.
        let threshold = 0.92f32;
        let d = 768;
        for half in [false, true] {
            let mut rng = Rng(12 + u64::from(half));
            let common = rng.unit(d);
            let mut rows: Vec<Vec<f64>> = Vec::new();
            for _ in 0..150 {
                // unrelated faces: cosine ~0.6 to each other through a shared component
                let u = rng.unit(d);
                let row: Vec<f64> = common
                    .iter()
                    .zip(&u)
                    .map(|(c, x)| 0.77 * c + 0.63 * x)
                    .collect();
                let norm = row.iter().map(|x| x * x).sum::<f64>().sqrt();
                rows.push(row.into_iter().map(|x| x / norm).collect());
            }
            for k in 0..40 {
                let base = rows[k * 3].clone();
                let want = if k % 2 == 0 { 1.0 } else { -1.0 };
                let mut tries = 0;
                let planted = loop {
                    tries += 1;
                    assert!(tries < 10_000, "no vector within 1e-4 of the threshold");
                    let offset = want * rng.uniform() * 1e-4;
                    let row = at_similarity(&mut rng, &base, f64::from(threshold) + offset);
                    let exact = exact_pair(&base, &row, half);
                    let delta = f64::from(exact) - f64::from(threshold);
                    let right_side = if want > 0.0 {
                        delta >= 0.0
                    } else {
                        delta < 0.0
                    };
                    if delta.abs() < 1e-4 && right_side {
                        break row;
                    }
                };
                rows.push(planted);
            }
            // shuffle, so that planted partners land in other tiles
            for i in (1..rows.len()).rev() {
                rows.swap(i, (rng.next() % (i as u64 + 1)) as usize);
            }
            let mut v = Vectors::new(d);
            for r in &rows {
                let (raw, inv) = quantize(r, half).prepare(d).unwrap();
                v.push(raw, inv);
            }
            let expected = brute(&v, threshold);
            assert_eq!(expected.len(), 20, "half={half}: the planted pairs above");
            let stop = AtomicBool::new(false);
            for (rb, cb) in [(7, 5), (64, 32), (ROW_BLOCK, COL_BLOCK)] {
                let (hits, stats) = search_blocks(&v, threshold, rb, cb, &stop, &|_| {});
                assert_eq!(pairs(&hits), expected, "half={half}, blocks {rb}x{cb}");
                assert!(stats.candidates >= expected.len() as u64);
            }
        }
    }

    #[test]
    fn every_pair_is_compared_once() {
        let mut rng = Rng(3);
        let base = rng.unit(16);
        let rows: Vec<Vec<f32>> = (0..37)
            .map(|_| {
                base.iter()
                    .map(|&x| (x + 1e-4 * rng.normal()) as f32)
                    .collect()
            })
            .collect();
        let v = store(&rows);
        let stop = AtomicBool::new(false);
        let (hits, stats) = search_blocks(&v, 0.5, 8, 5, &stop, &|_| {});
        assert_eq!(hits.len(), 37 * 36 / 2);
        assert_eq!(stats.pairs, 37 * 36 / 2);
        assert!(hits.iter().all(|h| h.a < h.b));
    }

    #[test]
    fn bad_vectors_are_rejected_with_a_reason() {
        assert_eq!(
            RawVector::F32(vec![0.0; 4]).prepare(4).unwrap_err(),
            Rejected::Zero
        );
        assert_eq!(
            RawVector::F32(vec![1.0, f32::NAN]).prepare(2).unwrap_err(),
            Rejected::NonFinite
        );
        assert_eq!(
            RawVector::F64(vec![1.0, 1e300]).prepare(2).unwrap_err(),
            Rejected::NonFinite
        );
        assert_eq!(
            RawVector::F32(vec![1.0; 3]).prepare(4).unwrap_err(),
            Rejected::Length {
                found: 3,
                expected: 4
            }
        );
    }

    #[test]
    fn float16_store_widens_exactly_when_a_float32_vector_arrives() {
        let mut v = Vectors::new(2);
        let (raw, inv) = RawVector::F16(vec![f16::from_f32(0.5), f16::from_f32(0.25)])
            .prepare(2)
            .unwrap();
        v.push(raw, inv);
        assert_eq!(v.dtype_name(), "float16");
        let (raw, inv) = RawVector::F32(vec![0.5, 0.25]).prepare(2).unwrap();
        v.push(raw, inv);
        assert_eq!(v.dtype_name(), "float32");
        assert_eq!(v.similarity(0, 1), 1.0);
    }
}
