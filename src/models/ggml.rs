//! The whisper.cpp GGML model file: writing one (for our CTranslate2 converter) and checking one
//! (ours or an official download) before whisper.cpp ever sees it.
//!
//! whisper.cpp trusts the file: a truncated or corrupt model can crash it or load garbage. So
//! [`inspect`] walks the whole tensor table with seeks (no weight is read) and checks that every
//! tensor fits, the count matches the hyperparameters, and nothing trails the last tensor.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::Path;

use super::ModelsError;

pub const MAGIC: u32 = 0x6767_6d6c;

/// Header fields in file order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Hparams {
    pub n_vocab: i32,
    pub n_audio_ctx: i32,
    pub n_audio_state: i32,
    pub n_audio_head: i32,
    pub n_audio_layer: i32,
    pub n_text_ctx: i32,
    pub n_text_state: i32,
    pub n_text_head: i32,
    pub n_text_layer: i32,
    pub n_mels: i32,
    pub ftype: i32,
}

impl Hparams {
    fn as_array(&self) -> [i32; 11] {
        [
            self.n_vocab,
            self.n_audio_ctx,
            self.n_audio_state,
            self.n_audio_head,
            self.n_audio_layer,
            self.n_text_ctx,
            self.n_text_state,
            self.n_text_head,
            self.n_text_layer,
            self.n_mels,
            self.ftype,
        ]
    }

    /// Tensors whisper.cpp creates for these dimensions: its loader insists on exactly this many.
    pub fn expected_tensors(&self) -> usize {
        let enc_layer = 15;
        let dec_layer = 24;
        7 + 4 + enc_layer * self.n_audio_layer.max(0) as usize + dec_layer * self.n_text_layer.max(0) as usize
    }

    /// whisper.cpp's own rule: the multilingual vocabulary has one more token than English-only.
    pub fn multilingual(&self) -> bool {
        self.n_vocab >= 51865
    }

    /// Human name of the architecture size, from the encoder depth.
    pub fn size_name(&self) -> &'static str {
        match self.n_audio_layer {
            4 => "tiny",
            6 => "base",
            12 => "small",
            24 => "medium",
            32 => "large",
            _ => "unknown",
        }
    }
}

/// GGML tensor element types that whisper models use, as (elements per block, bytes per block).
fn ttype_block(ttype: i32) -> Option<(u64, u64)> {
    Some(match ttype {
        0 => (1, 4),      // f32
        1 => (1, 2),      // f16
        2 => (32, 18),    // q4_0
        3 => (32, 20),    // q4_1
        6 => (32, 22),    // q5_0
        7 => (32, 24),    // q5_1
        8 => (32, 34),    // q8_0
        10 => (256, 84),  // q2_k
        11 => (256, 110), // q3_k
        12 => (256, 144), // q4_k
        13 => (256, 176), // q5_k
        14 => (256, 210), // q6_k
        _ => return None,
    })
}

pub struct GgmlWriter<W: Write> {
    out: W,
    tensors: usize,
}

impl GgmlWriter<BufWriter<File>> {
    pub fn create(path: &Path) -> Result<Self, ModelsError> {
        let file = File::create(path).map_err(|e| ModelsError::io(path, e))?;
        Ok(Self { out: BufWriter::with_capacity(1 << 20, file), tensors: 0 })
    }
}

impl<W: Write> GgmlWriter<W> {
    pub fn new(out: W) -> Self {
        Self { out, tensors: 0 }
    }

    /// Header, mel filterbank (`filters` is n_mel rows of n_fft bins) and vocabulary.
    pub fn write_header(
        &mut self,
        hp: &Hparams,
        n_mel: usize,
        n_fft: usize,
        filters: &[f32],
        vocab: &[Vec<u8>],
    ) -> std::io::Result<()> {
        debug_assert_eq!(filters.len(), n_mel * n_fft);
        self.out.write_all(&MAGIC.to_le_bytes())?;
        for v in hp.as_array() {
            self.out.write_all(&v.to_le_bytes())?;
        }
        self.out.write_all(&(n_mel as i32).to_le_bytes())?;
        self.out.write_all(&(n_fft as i32).to_le_bytes())?;
        for f in filters {
            self.out.write_all(&f.to_le_bytes())?;
        }
        self.out.write_all(&(vocab.len() as i32).to_le_bytes())?;
        for token in vocab {
            self.out.write_all(&(token.len() as u32).to_le_bytes())?;
            self.out.write_all(token)?;
        }
        Ok(())
    }

    /// One tensor: `shape` in numpy order (outermost first); GGML stores it reversed.
    pub fn write_tensor(&mut self, name: &str, shape: &[usize], ttype: i32, data: &[u8]) -> std::io::Result<()> {
        self.out.write_all(&(shape.len() as i32).to_le_bytes())?;
        self.out.write_all(&(name.len() as i32).to_le_bytes())?;
        self.out.write_all(&ttype.to_le_bytes())?;
        for d in shape.iter().rev() {
            self.out.write_all(&(*d as i32).to_le_bytes())?;
        }
        self.out.write_all(name.as_bytes())?;
        self.out.write_all(data)?;
        self.tensors += 1;
        Ok(())
    }

    pub fn tensors_written(&self) -> usize {
        self.tensors
    }

    pub fn finish(mut self) -> std::io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }
}

/// What [`inspect`] learned about a model file.
#[derive(Debug, Clone, serde::Serialize)]
pub struct GgmlInfo {
    pub hparams: Hparams,
    pub n_tokens: usize,
    pub n_tensors: usize,
    pub file_size: u64,
}

/// Checks a GGML whisper model's structure end to end without reading the weights.
pub fn inspect(path: &Path) -> Result<GgmlInfo, ModelsError> {
    let file = File::open(path).map_err(|e| ModelsError::io(path, e))?;
    let file_size = file.metadata().map_err(|e| ModelsError::io(path, e))?.len();
    let bad = |why: String| ModelsError::CorruptModel { path: path.to_path_buf(), why };
    let mut r = BufReader::new(file);
    let mut pos: u64 = 0;
    let read_i32 = |r: &mut BufReader<File>, pos: &mut u64, what: &str| -> Result<i32, ModelsError> {
        let mut b = [0u8; 4];
        r.read_exact(&mut b).map_err(|_| bad(format!("file ends inside {what} at byte {pos} (truncated?)")))?;
        *pos += 4;
        Ok(i32::from_le_bytes(b))
    };
    let magic = read_i32(&mut r, &mut pos, "the magic number")? as u32;
    if magic != MAGIC {
        return Err(bad(format!("not a GGML whisper model (magic {magic:#010x}, expected {MAGIC:#010x})")));
    }
    let mut h = [0i32; 11];
    for v in h.iter_mut() {
        *v = read_i32(&mut r, &mut pos, "the header")?;
    }
    let hparams = Hparams {
        n_vocab: h[0],
        n_audio_ctx: h[1],
        n_audio_state: h[2],
        n_audio_head: h[3],
        n_audio_layer: h[4],
        n_text_ctx: h[5],
        n_text_state: h[6],
        n_text_head: h[7],
        n_text_layer: h[8],
        n_mels: h[9],
        ftype: h[10],
    };
    if h[..10].iter().any(|&v| v <= 0 || v > 1_000_000) {
        return Err(bad(format!("implausible hyperparameters {hparams:?}")));
    }
    let n_mel = read_i32(&mut r, &mut pos, "the mel filter header")?;
    let n_fft = read_i32(&mut r, &mut pos, "the mel filter header")?;
    if !(1..=512).contains(&n_mel) || !(1..=4096).contains(&n_fft) {
        return Err(bad(format!("implausible mel filterbank size {n_mel}x{n_fft}")));
    }
    let skip = |r: &mut BufReader<File>, pos: &mut u64, n: u64, what: &str| -> Result<(), ModelsError> {
        if *pos + n > file_size {
            return Err(bad(format!("{what} runs past the end of the file at byte {} (truncated?)", *pos)));
        }
        r.seek_relative(n as i64).map_err(|e| ModelsError::io(path, e))?;
        *pos += n;
        Ok(())
    };
    skip(&mut r, &mut pos, (n_mel * n_fft) as u64 * 4, "the mel filterbank")?;
    let n_tokens = read_i32(&mut r, &mut pos, "the vocabulary size")?;
    if !(0..=1_000_000).contains(&n_tokens) {
        return Err(bad(format!("implausible vocabulary size {n_tokens}")));
    }
    for i in 0..n_tokens {
        let len = read_i32(&mut r, &mut pos, "the vocabulary")? as u32 as u64;
        if len > 1024 {
            return Err(bad(format!("vocabulary token {i} claims {len} bytes")));
        }
        skip(&mut r, &mut pos, len, "the vocabulary")?;
    }
    let mut n_tensors = 0usize;
    while pos < file_size {
        let n_dims = read_i32(&mut r, &mut pos, "a tensor header")?;
        let name_len = read_i32(&mut r, &mut pos, "a tensor header")?;
        let ttype = read_i32(&mut r, &mut pos, "a tensor header")?;
        if !(1..=4).contains(&n_dims) || !(1..=256).contains(&name_len) {
            return Err(bad(format!("tensor {n_tensors}: malformed header (dims {n_dims}, name length {name_len})")));
        }
        let mut elements: u64 = 1;
        for _ in 0..n_dims {
            let ne = read_i32(&mut r, &mut pos, "a tensor shape")?;
            if ne <= 0 {
                return Err(bad(format!("tensor {n_tensors}: dimension {ne}")));
            }
            elements = elements.saturating_mul(ne as u64);
        }
        let mut name = vec![0u8; name_len as usize];
        r.read_exact(&mut name).map_err(|_| bad(format!("file ends inside tensor {n_tensors}'s name")))?;
        pos += name_len as u64;
        let name = String::from_utf8_lossy(&name).into_owned();
        let (block, block_bytes) =
            ttype_block(ttype).ok_or_else(|| bad(format!("tensor {name}: unsupported type {ttype}")))?;
        if !elements.is_multiple_of(block) {
            return Err(bad(format!("tensor {name}: {elements} elements do not fill blocks of {block}")));
        }
        skip(&mut r, &mut pos, elements / block * block_bytes, &format!("tensor {name}"))?;
        n_tensors += 1;
    }
    let expected = hparams.expected_tensors();
    if n_tensors != expected {
        return Err(bad(format!("{n_tensors} tensors, but a {}-layer model has {expected}", hparams.n_audio_layer)));
    }
    Ok(GgmlInfo { hparams, n_tokens: n_tokens as usize, n_tensors, file_size })
}
