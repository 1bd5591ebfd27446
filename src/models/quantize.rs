//! 8-bit quantisation of a whisper.cpp GGML model (q8_0), as whisper.cpp's own `quantize` tool
//! does it: every 2-D weight matrix except the positional tables and conv biases becomes blocks
//! of 32 int8 values with one f16 scale; norms, biases and the 3-D conv kernels stay as they are.
//!
//! Why: on CPUs without AVX-512 the int8 dot products are faster than f16 ones. For tiny.en the
//! encoder runs ~15–20% faster and each decoder step about twice as fast (docs/benchmarks.md),
//! at a file of 44 MB instead of 78 MB. Written here because whisper-rs does not expose
//! whisper.cpp's quantiser and the block format is small and fixed.

use std::path::Path;

use super::ModelsError;
use super::ggml::{self, GgmlInfo, GgmlWriter, Hparams, MAGIC};

/// GGML tensor type ids.
const F32: i32 = 0;
const F16: i32 = 1;
const Q8_0: i32 = 8;
/// `ftype` in the header: GGML_FTYPE_MOSTLY_Q8_0 (7) + GGML_QNT_VERSION (2) × 1000.
const FTYPE_Q8_0: i32 = 2007;
const BLOCK: usize = 32;

/// Tensors whisper.cpp keeps unquantised even though they are 2-D.
const KEEP: [&str; 4] =
    ["encoder.conv1.bias", "encoder.conv2.bias", "encoder.positional_embedding", "decoder.positional_embedding"];

/// Writes a q8_0 copy of the f16/f32 model `src` to `out`. `progress(done, total)` per tensor.
pub fn q8_0(src: &Path, out: &Path, mut progress: impl FnMut(usize, usize)) -> Result<GgmlInfo, ModelsError> {
    let info = ggml::inspect(src)?;
    let bytes = std::fs::read(src).map_err(|e| ModelsError::io(src, e))?;
    let bad = |why: String| ModelsError::CorruptModel { path: src.to_path_buf(), why };
    let mut r = Reader { bytes: &bytes, pos: 0 };
    let words: Vec<i32> = (0..12).map(|_| r.i32()).collect::<Option<_>>().ok_or_else(|| bad("short header".into()))?;
    if words[0] as u32 != MAGIC {
        return Err(bad("not a GGML whisper model".into()));
    }
    if info.hparams.ftype % 1000 != F16 {
        return Err(bad(format!("only f16 models can be quantised (ftype {})", info.hparams.ftype)));
    }
    let hp = Hparams { ftype: FTYPE_Q8_0, ..info.hparams };
    let (n_mel, n_fft) = (r.i32().unwrap_or(0) as usize, r.i32().unwrap_or(0) as usize);
    let filters: Vec<f32> = r
        .take(n_mel * n_fft * 4)
        .ok_or_else(|| bad("short filterbank".into()))?
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    let n_tokens = r.i32().unwrap_or(0) as usize;
    let mut vocab = Vec::with_capacity(n_tokens);
    for _ in 0..n_tokens {
        let len = r.i32().ok_or_else(|| bad("short vocabulary".into()))? as usize;
        vocab.push(r.take(len).ok_or_else(|| bad("short vocabulary".into()))?.to_vec());
    }
    let mut w = GgmlWriter::create(out)?;
    let io = |e| ModelsError::io(out, e);
    w.write_header(&hp, n_mel, n_fft, &filters, &vocab).map_err(io)?;
    for done in 1..=info.n_tensors {
        let tensor = r.tensor().ok_or_else(|| bad(format!("tensor {done} is cut short")))?;
        // The writer takes shapes outermost first; the file holds them innermost first.
        let shape: Vec<usize> = tensor.ne.iter().rev().map(|&d| d as usize).collect();
        let quantise = tensor.ne.len() == 2 && !KEEP.contains(&tensor.name.as_str());
        if quantise && tensor.ttype == F16 && (tensor.ne[0] as usize).is_multiple_of(BLOCK) {
            w.write_tensor(&tensor.name, &shape, Q8_0, &blocks(&f16_values(tensor.data))).map_err(io)?;
        } else if quantise && tensor.ttype != F32 {
            return Err(bad(format!(
                "{}: cannot quantise type {} with rows of {}",
                tensor.name, tensor.ttype, tensor.ne[0]
            )));
        } else {
            w.write_tensor(&tensor.name, &shape, tensor.ttype, tensor.data).map_err(io)?;
        }
        progress(done, info.n_tensors);
    }
    w.finish().map_err(io)?.get_ref().sync_all().map_err(io)?;
    ggml::inspect(out)
}

fn f16_values(data: &[u8]) -> Vec<f32> {
    data.chunks_exact(2).map(|b| half::f16::from_le_bytes([b[0], b[1]]).to_f32()).collect()
}

/// q8_0 blocks: an f16 scale `d = max|x| / 127`, then 32 values `round(x / d)` as int8.
fn blocks(values: &[f32]) -> Vec<u8> {
    let mut out = Vec::with_capacity(values.len() / BLOCK * (2 + BLOCK));
    for block in values.chunks_exact(BLOCK) {
        let amax = block.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        let d = amax / 127.0;
        let inv = if d > 0.0 { 1.0 / d } else { 0.0 };
        out.extend_from_slice(&half::f16::from_f32(d).to_le_bytes());
        out.extend(block.iter().map(|v| (v * inv).round() as i8 as u8));
    }
    out
}

struct Tensor<'a> {
    name: String,
    ttype: i32,
    /// Dimensions innermost first, as the file stores them.
    ne: Vec<i32>,
    data: &'a [u8],
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let slice = self.bytes.get(self.pos..self.pos.checked_add(n)?)?;
        self.pos += n;
        Some(slice)
    }

    fn i32(&mut self) -> Option<i32> {
        self.take(4).map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// One tensor record; `inspect` has already checked every size in the file.
    fn tensor(&mut self) -> Option<Tensor<'a>> {
        let (n_dims, name_len, ttype) = (self.i32()?, self.i32()?, self.i32()?);
        let ne: Vec<i32> = (0..n_dims).map(|_| self.i32()).collect::<Option<_>>()?;
        let name = String::from_utf8_lossy(self.take(name_len as usize)?).into_owned();
        let elements: usize = ne.iter().map(|&d| d as usize).product();
        let bytes = match ttype {
            F32 => elements * 4,
            F16 => elements * 2,
            Q8_0 => elements / BLOCK * (2 + BLOCK),
            _ => return None,
        };
        Some(Tensor { name, ttype, ne, data: self.take(bytes)? })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_block_keeps_values_to_within_half_a_step() {
        let values: Vec<f32> = (0..64).map(|i| ((i as f32) * 0.37).sin() * 0.8).collect();
        let packed = blocks(&values);
        assert_eq!(packed.len(), 2 * 34);
        for (block, original) in packed.chunks_exact(34).zip(values.chunks_exact(BLOCK)) {
            let d = half::f16::from_le_bytes([block[0], block[1]]).to_f32();
            for (q, x) in block[2..].iter().zip(original) {
                assert!(((*q as i8) as f32 * d - x).abs() <= d * 0.5 + 1e-3, "{x}");
            }
        }
    }

    #[test]
    fn an_all_zero_block_has_a_zero_scale() {
        assert!(blocks(&[0.0; 32]).iter().all(|b| *b == 0));
    }
}
