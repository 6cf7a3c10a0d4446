//! GFLOP/s of gemm (f32, f16), matrixmultiply (f32) and faer (f32) on one dedup-shaped tile:
//! out (B x B) = a (B x 768) * b (B x 768)^T, all row-major. Usage: matmul-bench [B] [THREADS].
//! (The unsafe blocks are the raw-pointer APIs of gemm and matrixmultiply; sfhq-pack itself
//! uses faer, whose API is safe.)
use std::time::Instant;
fn main() {
    let b: usize = std::env::args().nth(1).map(|s| s.parse().unwrap()).unwrap_or(2048);
    let d = 768usize;
    let reps = 5; let th: usize = std::env::args().nth(2).map(|s| s.parse().unwrap()).unwrap_or(2);
    let a: Vec<f32> = (0..b * d).map(|i| ((i * 2654435761usize) % 1000) as f32 / 1000.0 - 0.5).collect();
    let c2: Vec<f32> = (0..b * d).map(|i| ((i * 40503usize) % 997) as f32 / 997.0 - 0.5).collect();
    let flops = 2.0 * (b * b * d) as f64 * reps as f64;
    let mut out = vec![0f32; b * b];
    rayon::ThreadPoolBuilder::new().num_threads(th).build_global().unwrap();
    // gemm f32: out (b x b, row-major) = a (b x d row-major) * c2^T
    let t = Instant::now();
    for _ in 0..reps {
        unsafe {
            gemm::gemm(b, b, d, out.as_mut_ptr(), 1, b as isize, false,
                a.as_ptr(), 1, d as isize, c2.as_ptr(), d as isize, 1, 0.0, 1.0, false, false, false,
                gemm::Parallelism::Rayon(th));
        }
    }
    let s = t.elapsed().as_secs_f64();
    println!("gemm f32           {:.1} GFLOP/s", flops / s / 1e9);
    let s0 = out[12345];
    let ah: Vec<half::f16> = a.iter().map(|&x| half::f16::from_f32(x)).collect();
    let ch: Vec<half::f16> = c2.iter().map(|&x| half::f16::from_f32(x)).collect();
    let mut outh = vec![half::f16::ZERO; b * b];
    let t = Instant::now();
    for _ in 0..reps {
        unsafe {
            gemm::gemm(b, b, d, outh.as_mut_ptr(), 1, b as isize, false,
                ah.as_ptr(), 1, d as isize, ch.as_ptr(), d as isize, 1, half::f16::ZERO, half::f16::ONE, false, false, false,
                gemm::Parallelism::Rayon(th));
        }
    }
    let s = t.elapsed().as_secs_f64();
    println!("gemm f16           {:.1} GFLOP/s", flops / s / 1e9);
    // matrixmultiply
    let t = Instant::now();
    for _ in 0..reps {
        unsafe {
            matrixmultiply::sgemm(b, d, b, 1.0, a.as_ptr(), d as isize, 1, c2.as_ptr(), 1, d as isize, 0.0, out.as_mut_ptr(), b as isize, 1);
        }
    }
    let s = t.elapsed().as_secs_f64();
    println!("matrixmultiply f32 {:.1} GFLOP/s (MATMUL_NUM_THREADS={:?})", flops / s / 1e9, std::env::var("MATMUL_NUM_THREADS").ok());
    assert!((out[12345] - s0).abs() < 1e-2);
    // faer
    use faer::{MatRef, MatMut};
    let am = MatRef::from_row_major_slice(&a, b, d);
    let cm = MatRef::from_row_major_slice(&c2, b, d);
    let t = Instant::now();
    for _ in 0..reps {
        let om = MatMut::from_row_major_slice_mut(&mut out, b, b);
        faer::linalg::matmul::matmul(om, faer::Accum::Replace, am, cm.transpose(), 1.0f32, faer::Par::rayon(th));
    }
    let s = t.elapsed().as_secs_f64();
    println!("faer f32           {:.1} GFLOP/s", flops / s / 1e9);
    assert!((out[12345] - s0).abs() < 1e-2);
}
