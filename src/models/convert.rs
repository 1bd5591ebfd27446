//! CTranslate2 Whisper → whisper.cpp GGML converter.
//!
//! Consumes a parsed CT2 `model.bin` plus its vocabulary file; writes a GGML file that
//! whisper.cpp loads as if it came from OpenAI's checkpoint. CT2 lacks two things GGML wants:
//! the mel filterbank (computed here, librosa's Slaney formula) and the byte-level vocabulary
//! (decoded here from GPT-2's printable-unicode encoding). Everything else is a renaming, the
//! split of CT2's fused QKV/KV projections, and the f16/f32 storage rule of whisper.cpp's own
//! converter (matrices f16; vectors, conv biases and positional tables f32).

use std::collections::BTreeSet;
use std::path::Path;

use super::ModelsError;
use super::ct2::{Ct2Dtype, Ct2Model, Ct2Tensor};
use super::ggml::{self, GgmlInfo, GgmlWriter, Hparams};

const N_FFT_BINS: usize = 201; // n_fft 400 at 16 kHz
const SAMPLE_RATE: f64 = 16_000.0;

/// Converts `ct2` (with its `vocabulary.txt` or `vocabulary.json` text) into a GGML file at `out`.
/// `progress(done, total)` is called once per written tensor.
pub fn convert(
    ct2: &Ct2Model,
    vocabulary: &str,
    out: &Path,
    mut progress: impl FnMut(usize, usize),
) -> Result<GgmlInfo, ModelsError> {
    if ct2.spec_name != "WhisperSpec" {
        return Err(ModelsError::Ct2Format(format!("spec {} is not a Whisper model", ct2.spec_name)));
    }
    let hp = hparams(ct2)?;
    let vocab = decode_vocabulary(vocabulary)?;
    let expected_tokens = if hp.multilingual() { 50257 } else { 50256 };
    if vocab.len() != expected_tokens {
        return Err(ModelsError::Ct2Format(format!(
            "vocabulary has {} tokens before <|endoftext|>, expected {expected_tokens} for n_vocab {}",
            vocab.len(),
            hp.n_vocab
        )));
    }
    let filters = mel_filterbank(hp.n_mels as usize);
    let plan = tensor_plan(&hp);
    let total = plan.len();
    let mut w = GgmlWriter::create(out)?;
    let io = |e| ModelsError::io(out, e);
    w.write_header(&hp, hp.n_mels as usize, N_FFT_BINS, &filters, &vocab).map_err(io)?;
    for (i, item) in plan.iter().enumerate() {
        let (shape, ttype, data) = item.materialise(ct2)?;
        w.write_tensor(&item.ggml_name, &shape, ttype, &data).map_err(io)?;
        progress(i + 1, total);
    }
    w.finish().map_err(io)?.get_ref().sync_all().map_err(io)?;
    ggml::inspect(out)
}

fn hparams(ct2: &Ct2Model) -> Result<Hparams, ModelsError> {
    let shape = |name: &str| ct2.get(name).map(|t| t.shape.clone());
    let heads = |name: &str| -> Result<i32, ModelsError> {
        ct2.get(name)?
            .scalar_int()
            .map(|v| v as i32)
            .ok_or_else(|| ModelsError::Ct2Format(format!("{name} is not an integer scalar")))
    };
    let dims2 = |name: &str| -> Result<(i32, i32), ModelsError> {
        match shape(name)?.as_slice() {
            [a, b] => Ok((*a as i32, *b as i32)),
            other => Err(ModelsError::Ct2Format(format!("{name} has shape {other:?}, expected 2-D"))),
        }
    };
    let (n_vocab, n_text_state) = dims2("decoder/embeddings/weight")?;
    let (n_audio_ctx, n_audio_state) = dims2("encoder/position_encodings/encodings")?;
    let (n_text_ctx, _) = dims2("decoder/position_encodings/encodings")?;
    let conv1 = shape("encoder/conv1/weight")?;
    let n_mels = *conv1.get(1).ok_or_else(|| ModelsError::Ct2Format("conv1 weight is not 3-D".into()))? as i32;
    Ok(Hparams {
        n_vocab,
        n_audio_ctx,
        n_audio_state,
        n_audio_head: heads("encoder/num_heads")?,
        n_audio_layer: count_layers(ct2, "encoder/"),
        n_text_ctx,
        n_text_state,
        n_text_head: heads("decoder/num_heads")?,
        n_text_layer: count_layers(ct2, "decoder/"),
        n_mels,
        ftype: 1,
    })
}

/// Layers are `<prefix>layer_<i>/…`; a plain prefix match would also catch `layer_norm`.
fn count_layers(ct2: &Ct2Model, prefix: &str) -> i32 {
    let indices: BTreeSet<usize> = ct2
        .variables
        .keys()
        .filter_map(|k| k.strip_prefix(prefix)?.strip_prefix("layer_"))
        .filter_map(|rest| rest.split('/').next()?.parse().ok())
        .collect();
    indices.len() as i32
}

/// How one GGML tensor is made from one CT2 variable.
struct PlanItem {
    ggml_name: String,
    ct2_name: String,
    /// Keep only rows [start, end) of the outermost dimension (fused projections).
    rows: Option<(usize, usize)>,
    storage: Storage,
}

#[derive(Clone, Copy, PartialEq)]
enum Storage {
    /// whisper.cpp's rule: matrices f16, vectors f32.
    ByRank,
    F32,
    /// Conv bias: f32, stored as (d, 1).
    ConvBias,
}

impl PlanItem {
    fn new(ggml: impl Into<String>, ct2: impl Into<String>) -> Self {
        Self { ggml_name: ggml.into(), ct2_name: ct2.into(), rows: None, storage: Storage::ByRank }
    }
    fn rows(mut self, start: usize, end: usize) -> Self {
        self.rows = Some((start, end));
        self
    }
    fn storage(mut self, storage: Storage) -> Self {
        self.storage = storage;
        self
    }

    fn materialise(&self, ct2: &Ct2Model) -> Result<(Vec<usize>, i32, Vec<u8>), ModelsError> {
        let t = ct2.get(&self.ct2_name)?;
        let mut shape = t.shape.clone();
        let row_len: usize = shape.iter().skip(1).product();
        let (start, end) = self.rows.unwrap_or((0, shape.first().copied().unwrap_or(1)));
        if shape.is_empty() || end > shape[0] || start >= end {
            return Err(ModelsError::Ct2Format(format!(
                "{} has shape {:?}, cannot take rows {start}..{end}",
                self.ct2_name, t.shape
            )));
        }
        shape[0] = end - start;
        let as_f16 = self.storage == Storage::ByRank && shape.len() >= 2;
        if self.storage == Storage::ConvBias {
            shape.push(1);
        }
        let data = if as_f16 && t.dtype == Ct2Dtype::F16 && !has_scale(ct2, &self.ct2_name) {
            t.data[start * row_len * 2..end * row_len * 2].to_vec()
        } else {
            let values = dequantised(ct2, &self.ct2_name, t)?;
            let rows = &values[start * row_len..end * row_len];
            if as_f16 {
                rows.iter().flat_map(|v| half::f16::from_f32(*v).to_le_bytes()).collect()
            } else {
                rows.iter().flat_map(|v| v.to_le_bytes()).collect()
            }
        };
        Ok((shape, if as_f16 { 1 } else { 0 }, data))
    }
}

fn has_scale(ct2: &Ct2Model, name: &str) -> bool {
    ct2.variables.contains_key(&format!("{name}_scale"))
}

/// Values as f32; int8 weights carry a per-row `<name>_scale` with `w = q / scale`.
fn dequantised(ct2: &Ct2Model, name: &str, t: &Ct2Tensor) -> Result<Vec<f32>, ModelsError> {
    let mut values = t.to_f32();
    if let Some(scale) = ct2.variables.get(&format!("{name}_scale")) {
        let scale = scale.to_f32();
        let rows = t.shape.first().copied().unwrap_or(1);
        if scale.len() != rows || rows == 0 {
            return Err(ModelsError::Ct2Format(format!("{name}_scale has {} values for {rows} rows", scale.len())));
        }
        let row_len = values.len() / rows;
        for (row, s) in values.chunks_mut(row_len).zip(scale) {
            row.iter_mut().for_each(|v| *v /= s);
        }
    }
    Ok(values)
}

fn tensor_plan(hp: &Hparams) -> Vec<PlanItem> {
    let mut plan = vec![
        PlanItem::new("encoder.positional_embedding", "encoder/position_encodings/encodings").storage(Storage::F32),
        PlanItem::new("encoder.conv1.weight", "encoder/conv1/weight"),
        PlanItem::new("encoder.conv1.bias", "encoder/conv1/bias").storage(Storage::ConvBias),
        PlanItem::new("encoder.conv2.weight", "encoder/conv2/weight"),
        PlanItem::new("encoder.conv2.bias", "encoder/conv2/bias").storage(Storage::ConvBias),
    ];
    let d = hp.n_audio_state as usize;
    for i in 0..hp.n_audio_layer {
        let (g, c) = (format!("encoder.blocks.{i}"), format!("encoder/layer_{i}"));
        self_attention(&mut plan, &g, &c, d);
        feed_forward(&mut plan, &g, &c);
    }
    plan.push(PlanItem::new("encoder.ln_post.weight", "encoder/layer_norm/gamma"));
    plan.push(PlanItem::new("encoder.ln_post.bias", "encoder/layer_norm/beta"));

    plan.push(
        PlanItem::new("decoder.positional_embedding", "decoder/position_encodings/encodings").storage(Storage::F32),
    );
    plan.push(PlanItem::new("decoder.token_embedding.weight", "decoder/embeddings/weight"));
    let d = hp.n_text_state as usize;
    for i in 0..hp.n_text_layer {
        let (g, c) = (format!("decoder.blocks.{i}"), format!("decoder/layer_{i}"));
        self_attention(&mut plan, &g, &c, d);
        let (ga, ca) = (format!("{g}.cross_attn"), format!("{c}/attention"));
        plan.push(PlanItem::new(format!("{g}.cross_attn_ln.weight"), format!("{ca}/layer_norm/gamma")));
        plan.push(PlanItem::new(format!("{g}.cross_attn_ln.bias"), format!("{ca}/layer_norm/beta")));
        plan.push(PlanItem::new(format!("{ga}.query.weight"), format!("{ca}/linear_0/weight")));
        plan.push(PlanItem::new(format!("{ga}.query.bias"), format!("{ca}/linear_0/bias")));
        // Fused K|V; whisper.cpp has no key bias, so that slice is dropped (CT2 stores zeros).
        plan.push(PlanItem::new(format!("{ga}.key.weight"), format!("{ca}/linear_1/weight")).rows(0, d));
        plan.push(PlanItem::new(format!("{ga}.value.weight"), format!("{ca}/linear_1/weight")).rows(d, 2 * d));
        plan.push(PlanItem::new(format!("{ga}.value.bias"), format!("{ca}/linear_1/bias")).rows(d, 2 * d));
        plan.push(PlanItem::new(format!("{ga}.out.weight"), format!("{ca}/linear_2/weight")));
        plan.push(PlanItem::new(format!("{ga}.out.bias"), format!("{ca}/linear_2/bias")));
        feed_forward(&mut plan, &g, &c);
    }
    plan.push(PlanItem::new("decoder.ln.weight", "decoder/layer_norm/gamma"));
    plan.push(PlanItem::new("decoder.ln.bias", "decoder/layer_norm/beta"));
    plan
}

/// Fused Q|K|V projection split into whisper.cpp's three tensors (no key bias there).
fn self_attention(plan: &mut Vec<PlanItem>, g: &str, c: &str, d: usize) {
    let (ga, ca) = (format!("{g}.attn"), format!("{c}/self_attention"));
    plan.push(PlanItem::new(format!("{g}.attn_ln.weight"), format!("{ca}/layer_norm/gamma")));
    plan.push(PlanItem::new(format!("{g}.attn_ln.bias"), format!("{ca}/layer_norm/beta")));
    plan.push(PlanItem::new(format!("{ga}.query.weight"), format!("{ca}/linear_0/weight")).rows(0, d));
    plan.push(PlanItem::new(format!("{ga}.query.bias"), format!("{ca}/linear_0/bias")).rows(0, d));
    plan.push(PlanItem::new(format!("{ga}.key.weight"), format!("{ca}/linear_0/weight")).rows(d, 2 * d));
    plan.push(PlanItem::new(format!("{ga}.value.weight"), format!("{ca}/linear_0/weight")).rows(2 * d, 3 * d));
    plan.push(PlanItem::new(format!("{ga}.value.bias"), format!("{ca}/linear_0/bias")).rows(2 * d, 3 * d));
    plan.push(PlanItem::new(format!("{ga}.out.weight"), format!("{ca}/linear_1/weight")));
    plan.push(PlanItem::new(format!("{ga}.out.bias"), format!("{ca}/linear_1/bias")));
}

fn feed_forward(plan: &mut Vec<PlanItem>, g: &str, c: &str) {
    plan.push(PlanItem::new(format!("{g}.mlp_ln.weight"), format!("{c}/ffn/layer_norm/gamma")));
    plan.push(PlanItem::new(format!("{g}.mlp_ln.bias"), format!("{c}/ffn/layer_norm/beta")));
    plan.push(PlanItem::new(format!("{g}.mlp.0.weight"), format!("{c}/ffn/linear_0/weight")));
    plan.push(PlanItem::new(format!("{g}.mlp.0.bias"), format!("{c}/ffn/linear_0/bias")));
    plan.push(PlanItem::new(format!("{g}.mlp.2.weight"), format!("{c}/ffn/linear_1/weight")));
    plan.push(PlanItem::new(format!("{g}.mlp.2.bias"), format!("{c}/ffn/linear_1/bias")));
}

/// librosa `mel(sr=16000, n_fft=400, n_mels, htk=False, norm="slaney")`, row-major mel × bin.
pub fn mel_filterbank(n_mels: usize) -> Vec<f32> {
    let fft_freqs: Vec<f64> =
        (0..N_FFT_BINS).map(|i| i as f64 * (SAMPLE_RATE / 2.0) / (N_FFT_BINS - 1) as f64).collect();
    let (mel_min, mel_max) = (hz_to_mel(0.0), hz_to_mel(SAMPLE_RATE / 2.0));
    let mel_points: Vec<f64> =
        (0..n_mels + 2).map(|i| mel_to_hz(mel_min + (mel_max - mel_min) * i as f64 / (n_mels + 1) as f64)).collect();
    let mut filters = Vec::with_capacity(n_mels * N_FFT_BINS);
    for m in 0..n_mels {
        let (lo, mid, hi) = (mel_points[m], mel_points[m + 1], mel_points[m + 2]);
        let area_norm = 2.0 / (hi - lo);
        for &f in &fft_freqs {
            let rising = (f - lo) / (mid - lo);
            let falling = (hi - f) / (hi - mid);
            filters.push((rising.min(falling).max(0.0) * area_norm) as f32);
        }
    }
    filters
}

// Slaney's auditory-toolbox mel scale: linear below 1 kHz, logarithmic above.
const F_SP: f64 = 200.0 / 3.0;
const MIN_LOG_HZ: f64 = 1000.0;
const MIN_LOG_MEL: f64 = MIN_LOG_HZ / F_SP;

fn log_step() -> f64 {
    6.4f64.ln() / 27.0
}

fn hz_to_mel(hz: f64) -> f64 {
    if hz >= MIN_LOG_HZ { MIN_LOG_MEL + (hz / MIN_LOG_HZ).ln() / log_step() } else { hz / F_SP }
}

fn mel_to_hz(mel: f64) -> f64 {
    if mel >= MIN_LOG_MEL { MIN_LOG_HZ * (log_step() * (mel - MIN_LOG_MEL)).exp() } else { F_SP * mel }
}

/// Regular tokens (those before `<|endoftext|>`) as raw bytes. whisper.cpp derives the special,
/// language and timestamp tokens itself.
pub fn decode_vocabulary(text: &str) -> Result<Vec<Vec<u8>>, ModelsError> {
    let entries: Vec<String> = if text.trim_start().starts_with('[') {
        serde_json::from_str(text).map_err(|e| ModelsError::Ct2Format(format!("vocabulary.json: {e}")))?
    } else {
        text.lines().map(str::to_owned).collect()
    };
    let end = entries
        .iter()
        .position(|t| t == "<|endoftext|>")
        .ok_or_else(|| ModelsError::Ct2Format("vocabulary has no <|endoftext|> token".into()))?;
    let table = byte_decoder();
    entries[..end]
        .iter()
        .map(|token| {
            token
                .chars()
                .map(|ch| {
                    table.get(ch as usize).copied().flatten().ok_or_else(|| {
                        ModelsError::Ct2Format(format!(
                            "vocabulary token {token:?} has a character outside GPT-2's byte alphabet"
                        ))
                    })
                })
                .collect()
        })
        .collect()
}

/// Inverse of GPT-2's `bytes_to_unicode`: printable bytes stand for themselves, the other 68
/// bytes were moved to U+0100.. in order. Indexed by code point.
fn byte_decoder() -> Vec<Option<u8>> {
    let printable = |b: u8| (b'!'..=b'~').contains(&b) || (0xA1..=0xAC).contains(&b) || (0xAE..=0xFF).contains(&b);
    let mut table = vec![None; 256 + 68];
    let mut shifted = 0;
    for b in 0..=255u8 {
        if printable(b) {
            table[b as usize] = Some(b);
        } else {
            table[256 + shifted] = Some(b);
            shifted += 1;
        }
    }
    table
}

#[cfg(test)]
mod tests {
    use super::super::ct2::tests::write_ct2;
    use super::*;

    #[test]
    fn mel_filterbank_matches_librosa_values() {
        let f = mel_filterbank(80);
        assert_eq!(f.len(), 80 * 201);
        // Reference values from OpenAI Whisper's mel_filters.npz (mel_80).
        let close = |i: usize, v: f32| assert!((f[i] - v).abs() < 1e-7, "filter value {i}: {} vs {v}", f[i]);
        close(1, 0.024_862_59);
        close(201 + 1, 0.001_990_82);
        close(201 + 2, 0.022_871_77);
        close(79 * 201 + 192, 0.003_164_712);
        // Every filter is a non-negative triangle with unit-ish area scaled by Slaney norm.
        for m in 0..80 {
            assert!(f[m * 201..(m + 1) * 201].iter().all(|v| *v >= 0.0));
            assert!(f[m * 201..(m + 1) * 201].iter().any(|v| *v > 0.0), "filter {m} empty");
        }
    }

    #[test]
    fn vocabulary_decodes_gpt2_byte_alphabet() {
        let text = "!\nĠthe\nĊ\n\n<|endoftext|>\n<|startoftranscript|>\n";
        let v = decode_vocabulary(text).unwrap();
        assert_eq!(v, vec![b"!".to_vec(), b" the".to_vec(), b"\n".to_vec(), Vec::new()]);
        let json = r#"["!", "Ġthe", "<|endoftext|>"]"#;
        assert_eq!(decode_vocabulary(json).unwrap().len(), 2);
        assert!(decode_vocabulary("a\nb\n").is_err());
        assert!(decode_vocabulary("☃\n<|endoftext|>").is_err());
    }

    fn f16_bytes(n: usize, seed: f32) -> Vec<u8> {
        (0..n).flat_map(|i| half::f16::from_f32(seed + i as f32 * 0.001).to_le_bytes()).collect()
    }

    /// A tiny but structurally complete Whisper (1 encoder, 1 decoder layer, d=4) in CT2 layout.
    fn tiny_ct2(n_vocab: usize) -> Vec<u8> {
        let d = 4;
        let mut vars: Vec<(String, Vec<usize>, Ct2Dtype, Vec<u8>)> = vec![
            ("encoder/num_heads".into(), vec![], Ct2Dtype::I16, 2i16.to_le_bytes().to_vec()),
            ("decoder/num_heads".into(), vec![], Ct2Dtype::I16, 2i16.to_le_bytes().to_vec()),
            ("encoder/conv1/weight".into(), vec![d, 80, 3], Ct2Dtype::F16, f16_bytes(d * 240, 0.1)),
            ("encoder/conv1/bias".into(), vec![d], Ct2Dtype::F16, f16_bytes(d, 0.2)),
            ("encoder/conv2/weight".into(), vec![d, d, 3], Ct2Dtype::F16, f16_bytes(d * d * 3, 0.3)),
            ("encoder/conv2/bias".into(), vec![d], Ct2Dtype::F16, f16_bytes(d, 0.4)),
            ("encoder/position_encodings/encodings".into(), vec![10, d], Ct2Dtype::F16, f16_bytes(10 * d, 0.5)),
            ("decoder/position_encodings/encodings".into(), vec![6, d], Ct2Dtype::F16, f16_bytes(6 * d, 0.6)),
            ("decoder/embeddings/weight".into(), vec![n_vocab, d], Ct2Dtype::F16, f16_bytes(n_vocab * d, 0.7)),
        ];
        for ln in ["encoder/layer_norm", "decoder/layer_norm"] {
            vars.push((format!("{ln}/gamma"), vec![d], Ct2Dtype::F16, f16_bytes(d, 1.0)));
            vars.push((format!("{ln}/beta"), vec![d], Ct2Dtype::F16, f16_bytes(d, 0.0)));
        }
        let mut block = |prefix: &str, cross: bool| {
            let mut lin = |name: String, rows: usize, cols: usize| {
                vars.push((format!("{name}/weight"), vec![rows, cols], Ct2Dtype::F16, f16_bytes(rows * cols, 0.01)));
                vars.push((format!("{name}/bias"), vec![rows], Ct2Dtype::F16, f16_bytes(rows, 0.02)));
            };
            lin(format!("{prefix}/self_attention/linear_0"), 3 * d, d);
            lin(format!("{prefix}/self_attention/linear_1"), d, d);
            lin(format!("{prefix}/ffn/linear_0"), 4 * d, d);
            lin(format!("{prefix}/ffn/linear_1"), d, 4 * d);
            if cross {
                lin(format!("{prefix}/attention/linear_0"), d, d);
                lin(format!("{prefix}/attention/linear_1"), 2 * d, d);
                lin(format!("{prefix}/attention/linear_2"), d, d);
            }
            let mut norms = vec!["self_attention", "ffn"];
            if cross {
                norms.push("attention");
            }
            for n in norms {
                vars.push((format!("{prefix}/{n}/layer_norm/gamma"), vec![d], Ct2Dtype::F16, f16_bytes(d, 1.0)));
                vars.push((format!("{prefix}/{n}/layer_norm/beta"), vec![d], Ct2Dtype::F16, f16_bytes(d, 0.0)));
            }
        };
        block("encoder/layer_0", false);
        block("decoder/layer_0", true);
        let borrowed: Vec<(&str, Vec<usize>, Ct2Dtype, Vec<u8>)> =
            vars.iter().map(|(n, s, t, b)| (n.as_str(), s.clone(), *t, b.clone())).collect();
        write_ct2(&borrowed, &[("decoder/projection/weight", "decoder/embeddings/weight")])
    }

    fn vocabulary(n: usize) -> String {
        let mut text: String = (0..n).map(|i| format!("t{i}\n")).collect();
        text.push_str("<|endoftext|>\n");
        text
    }

    #[test]
    fn converts_a_small_model_into_a_loadable_layout() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("ggml-test.bin");
        let ct2 = Ct2Model::parse(&tiny_ct2(51864)).unwrap();
        let mut calls = 0;
        let info = convert(&ct2, &vocabulary(50256), &out, |_, _| calls += 1).unwrap();
        assert_eq!(info.n_tensors, 7 + 4 + 15 + 24);
        assert_eq!(calls, info.n_tensors);
        assert_eq!(info.hparams.n_audio_layer, 1);
        assert_eq!(info.hparams.n_audio_head, 2);
        assert_eq!(info.hparams.n_audio_ctx, 10);
        assert_eq!(info.hparams.n_text_ctx, 6);
        assert!(!info.hparams.multilingual());
        assert_eq!(info.n_tokens, 50256);
        // Cutting the file anywhere in the tensor area is caught.
        let bytes = std::fs::read(&out).unwrap();
        let cut = dir.path().join("cut.bin");
        std::fs::write(&cut, &bytes[..bytes.len() - 3]).unwrap();
        assert!(ggml::inspect(&cut).unwrap_err().to_string().contains("truncated"));
        std::fs::write(&cut, b"not a model at all").unwrap();
        assert!(ggml::inspect(&cut).unwrap_err().to_string().contains("not a GGML"));
    }

    #[test]
    fn key_bias_is_dropped_and_value_bias_kept() {
        let ct2 = Ct2Model::parse(&tiny_ct2(51864)).unwrap();
        let hp = hparams(&ct2).unwrap();
        let plan = tensor_plan(&hp);
        assert!(plan.iter().all(|p| !p.ggml_name.ends_with("key.bias")));
        let value_bias = plan.iter().find(|p| p.ggml_name == "encoder.blocks.0.attn.value.bias").unwrap();
        let (shape, ttype, data) = value_bias.materialise(&ct2).unwrap();
        assert_eq!((shape, ttype), (vec![4], 0));
        // Rows 8..12 of a bias that counts up from 0.02 in steps of 0.001.
        let first = f32::from_le_bytes([data[0], data[1], data[2], data[3]]);
        assert!((first - 0.028).abs() < 1e-3, "{first}");
        let conv_bias = plan.iter().find(|p| p.ggml_name == "encoder.conv1.bias").unwrap();
        assert_eq!(conv_bias.materialise(&ct2).unwrap().0, vec![4, 1]);
    }

    #[test]
    fn wrong_vocabulary_size_is_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let ct2 = Ct2Model::parse(&tiny_ct2(51864)).unwrap();
        let err = convert(&ct2, &vocabulary(100), &dir.path().join("x.bin"), |_, _| {}).unwrap_err();
        assert!(err.to_string().contains("vocabulary"), "{err}");
    }
}
