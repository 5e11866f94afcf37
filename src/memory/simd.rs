//! Dot-product kernels with the instruction set chosen at run time.
//!
//! Prebuilt addons target baseline x86-64, so AVX2 is detected when the process starts using
//! it ([`Kernel::detect`]) and the `#[target_feature(enable = "avx2")]` functions run only when
//! the CPU has it. The scalar fallback computes exactly the same numbers: the int8 kernels sum
//! integers, and the f32 kernels use eight lanes with the same summation order as the AVX2
//! code (separate multiply and add, no FMA), so both paths are bit-for-bit identical.

use super::parallel::part_len;

/// Which kernel family to run.
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kernel {
    /// Portable code (any CPU).
    Scalar,
    /// x86-64 AVX2 code; only constructed when the CPU supports it.
    Avx2,
}

impl Kernel {
    /// The fastest kernel this CPU supports, or `Scalar` when the `LA_SIMD` environment
    /// variable is `scalar` (to measure what SIMD buys).
    pub fn detect() -> Kernel {
        static CHOSEN: std::sync::OnceLock<Kernel> = std::sync::OnceLock::new();
        *CHOSEN.get_or_init(|| match std::env::var("LA_SIMD").ok().as_deref() {
            Some("scalar") => Kernel::Scalar,
            _ => Kernel::best(),
        })
    }

    /// The fastest kernel this CPU supports.
    fn best() -> Kernel {
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx2") {
                return Kernel::Avx2;
            }
        }
        Kernel::Scalar
    }

    /// Dot product of two int8 vectors of equal length whose values are in `[-127, 127]`
    /// (what [`super::vector_index::quantize`] produces; `-128` is not supported).
    #[inline]
    pub fn dot_i8(self, a: &[i8], b: &[i8]) -> i32 {
        match self {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `Kernel::Avx2` is only constructed after AVX2 was detected.
            Kernel::Avx2 => unsafe { avx2::dot_i8(a, b) },
            _ => scalar_dot_i8(a, b),
        }
    }

    /// Dot products of `query` with the rows `rows` of a row-major `matrix` of `dims` columns,
    /// written to `out` (same length as `rows`).
    ///
    /// Long scans are split across the CPU's cores (see the `parallel` module).
    pub fn dot_i8_rows(
        self,
        query: &[i8],
        matrix: &[i8],
        dims: usize,
        rows: &[u32],
        out: &mut [i32],
    ) {
        let per = part_len(rows.len());
        if per < rows.len() {
            std::thread::scope(|s| {
                let mut parts = rows.chunks(per).zip(out.chunks_mut(per));
                let first = parts.next();
                for (r, o) in parts {
                    s.spawn(move || self.dot_i8_rows_serial(query, matrix, dims, r, o));
                }
                if let Some((r, o)) = first {
                    self.dot_i8_rows_serial(query, matrix, dims, r, o);
                }
            });
            return;
        }
        self.dot_i8_rows_serial(query, matrix, dims, rows, out);
    }

    /// [`Self::dot_i8_rows`] on the calling thread only.
    pub fn dot_i8_rows_serial(
        self,
        query: &[i8],
        matrix: &[i8],
        dims: usize,
        rows: &[u32],
        out: &mut [i32],
    ) {
        match self {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `Kernel::Avx2` is only constructed after AVX2 was detected.
            Kernel::Avx2 => unsafe { avx2::dot_i8_rows(query, matrix, dims, rows, out) },
            _ => {
                for (o, &r) in out.iter_mut().zip(rows) {
                    let start = r as usize * dims;
                    *o = scalar_dot_i8(query, &matrix[start..start + dims]);
                }
            }
        }
    }

    /// Dot product of two f32 vectors of equal length.
    #[inline]
    pub fn dot_f32(self, a: &[f32], b: &[f32]) -> f32 {
        match self {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `Kernel::Avx2` is only constructed after AVX2 was detected.
            Kernel::Avx2 => unsafe { avx2::dot_f32(a, b) },
            _ => scalar_dot_f32(a, b),
        }
    }
}

/// Portable int8 dot product.
pub fn scalar_dot_i8(a: &[i8], b: &[i8]) -> i32 {
    a.iter()
        .zip(b)
        .map(|(&x, &y)| i32::from(x) * i32::from(y))
        .sum()
}

/// Portable f32 dot product with eight lanes, summed in the same order as the AVX2 kernel.
pub fn scalar_dot_f32(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let body = n / 8 * 8;
    let mut acc = [0f32; 8];
    let mut i = 0;
    while i < body {
        for lane in 0..8 {
            acc[lane] += a[i + lane] * b[i + lane];
        }
        i += 8;
    }
    let mut sum = reduce8(&acc);
    for j in body..n {
        sum += a[j] * b[j];
    }
    sum
}

/// Horizontal sum of eight lanes in a fixed order: ((0+4)+(2+6)) + ((1+5)+(3+7)).
#[inline]
fn reduce8(acc: &[f32; 8]) -> f32 {
    let s0 = acc[0] + acc[4];
    let s1 = acc[1] + acc[5];
    let s2 = acc[2] + acc[6];
    let s3 = acc[3] + acc[7];
    (s0 + s2) + (s1 + s3)
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::*;

    /// AVX2 int8 dot product: `maddubs(|a|, sign(b, a))` gives exact pairwise products summed
    /// into i16 (at most 2·127·127, no saturation since values are clamped to ±127), then
    /// `madd` with ones widens to i32.
    #[target_feature(enable = "avx2")]
    pub unsafe fn dot_i8(a: &[i8], b: &[i8]) -> i32 {
        let n = a.len().min(b.len());
        let body = n / 32 * 32;
        let ones = _mm256_set1_epi16(1);
        let mut acc0 = _mm256_setzero_si256();
        let mut acc1 = _mm256_setzero_si256();
        let pa = a.as_ptr();
        let pb = b.as_ptr();
        let mut i = 0;
        while i + 64 <= body {
            let a0 = _mm256_loadu_si256(pa.add(i) as *const __m256i);
            let b0 = _mm256_loadu_si256(pb.add(i) as *const __m256i);
            let a1 = _mm256_loadu_si256(pa.add(i + 32) as *const __m256i);
            let b1 = _mm256_loadu_si256(pb.add(i + 32) as *const __m256i);
            let p0 = _mm256_maddubs_epi16(_mm256_sign_epi8(a0, a0), _mm256_sign_epi8(b0, a0));
            let p1 = _mm256_maddubs_epi16(_mm256_sign_epi8(a1, a1), _mm256_sign_epi8(b1, a1));
            acc0 = _mm256_add_epi32(acc0, _mm256_madd_epi16(p0, ones));
            acc1 = _mm256_add_epi32(acc1, _mm256_madd_epi16(p1, ones));
            i += 64;
        }
        while i < body {
            let a0 = _mm256_loadu_si256(pa.add(i) as *const __m256i);
            let b0 = _mm256_loadu_si256(pb.add(i) as *const __m256i);
            let p0 = _mm256_maddubs_epi16(_mm256_sign_epi8(a0, a0), _mm256_sign_epi8(b0, a0));
            acc0 = _mm256_add_epi32(acc0, _mm256_madd_epi16(p0, ones));
            i += 32;
        }
        let acc = _mm256_add_epi32(acc0, acc1);
        let mut lanes = [0i32; 8];
        _mm256_storeu_si256(lanes.as_mut_ptr() as *mut __m256i, acc);
        let mut sum: i32 = lanes.iter().sum();
        for j in body..n {
            sum += i32::from(a[j]) * i32::from(b[j]);
        }
        sum
    }

    /// AVX2 int8 dot products of `query` against selected matrix rows.
    #[target_feature(enable = "avx2")]
    pub unsafe fn dot_i8_rows(
        query: &[i8],
        matrix: &[i8],
        dims: usize,
        rows: &[u32],
        out: &mut [i32],
    ) {
        for (o, &r) in out.iter_mut().zip(rows) {
            let start = r as usize * dims;
            *o = dot_i8(query, &matrix[start..start + dims]);
        }
    }

    /// AVX2 f32 dot product (multiply then add, no FMA, to match the scalar kernel exactly).
    #[target_feature(enable = "avx2")]
    pub unsafe fn dot_f32(a: &[f32], b: &[f32]) -> f32 {
        let n = a.len().min(b.len());
        let body = n / 8 * 8;
        let mut acc = _mm256_setzero_ps();
        let pa = a.as_ptr();
        let pb = b.as_ptr();
        let mut i = 0;
        while i < body {
            let x = _mm256_loadu_ps(pa.add(i));
            let y = _mm256_loadu_ps(pb.add(i));
            acc = _mm256_add_ps(acc, _mm256_mul_ps(x, y));
            i += 8;
        }
        let mut lanes = [0f32; 8];
        _mm256_storeu_ps(lanes.as_mut_ptr(), acc);
        let mut sum = super::reduce8(&lanes);
        for j in body..n {
            sum += a[j] * b[j];
        }
        sum
    }
}
