//! Criterion micro-benchmarks of the hot paths: parsing, de-identifying, cleaning free text,
//! UID hashing, frame blanking, decoding (RLE), text detection, ZIP and PNG writing.
//! `make bench-micro`; the whole-study numbers against peers are `make bench` (tools/bench.py).

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use dicom_core::value::{PixelFragmentSequence, PrimitiveValue, Value};
use dicom_core::{DataElement, VR};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;
use obscura::deid::{Identifiers, Policy, ProjectKey, Session};
use obscura::dicom::read_file;
use obscura::pixels::{blank_regions, detect, luma_frames, Luma, Region};

#[path = "../tests/common/mod.rs"]
mod common;

/// A generated 512×512 16-bit CT slice (fake patient).
/// The name `make bench` (tools/bench.py) finds the native cleaner's time by.
const CLEANER_BENCH: &str =
    "the page's cleaner on a 512x512 CT slice (de-identify, JSON, ZIP entry)";

fn ct_slice() -> Vec<u8> {
    obscura::sample::ct_series(1, 512, false)
        .next()
        .map(|(_, bytes)| bytes)
        .unwrap_or_default()
}

fn session() -> Session {
    Session::new(Policy::basic(ProjectKey::from_bytes([7; 32])))
}

fn put(obj: &mut InMemDicomObject, tag: dicom_core::Tag, vr: VR, value: PrimitiveValue) {
    obj.put(DataElement::new(tag, vr, Value::Primitive(value)));
}

/// Ten frames of 800×600 RGB, like an ultrasound cine.
fn rgb_cine(frames: usize) -> InMemDicomObject {
    let mut obj = read_file(&ct_slice()).expect("generated file").into_inner();
    put(&mut obj, tags::ROWS, VR::US, PrimitiveValue::from(600u16));
    put(
        &mut obj,
        tags::COLUMNS,
        VR::US,
        PrimitiveValue::from(800u16),
    );
    put(
        &mut obj,
        tags::SAMPLES_PER_PIXEL,
        VR::US,
        PrimitiveValue::from(3u16),
    );
    put(
        &mut obj,
        tags::PLANAR_CONFIGURATION,
        VR::US,
        PrimitiveValue::from(0u16),
    );
    put(
        &mut obj,
        tags::BITS_ALLOCATED,
        VR::US,
        PrimitiveValue::from(8u16),
    );
    put(
        &mut obj,
        tags::BITS_STORED,
        VR::US,
        PrimitiveValue::from(8u16),
    );
    put(&mut obj, tags::HIGH_BIT, VR::US, PrimitiveValue::from(7u16));
    put(
        &mut obj,
        tags::PIXEL_REPRESENTATION,
        VR::US,
        PrimitiveValue::from(0u16),
    );
    put(
        &mut obj,
        tags::PHOTOMETRIC_INTERPRETATION,
        VR::CS,
        PrimitiveValue::from("RGB"),
    );
    put(
        &mut obj,
        tags::NUMBER_OF_FRAMES,
        VR::IS,
        PrimitiveValue::from(frames.to_string()),
    );
    let pixels: Vec<u8> = (0..800 * 600 * 3 * frames)
        .map(|i| (i % 251) as u8)
        .collect();
    put(
        &mut obj,
        tags::PIXEL_DATA,
        VR::OB,
        PrimitiveValue::from(pixels),
    );
    obj
}

fn metadata(c: &mut Criterion) {
    let ct = ct_slice();
    let sample = obscura::sample::sample_study()
        .into_iter()
        .next()
        .map(|(_, b)| b)
        .unwrap_or_default();
    let mut g = c.benchmark_group("metadata");
    g.throughput(Throughput::Bytes(ct.len() as u64));
    g.bench_function("parse 512x512 CT slice", |b| {
        b.iter(|| read_file(&ct).expect("parses"))
    });
    let mut s = session();
    g.bench_function("de-identify 512x512 CT slice", |b| {
        b.iter(|| s.deidentify(&ct).expect("cleaned"))
    });
    // What a cleaner of the page's pool does with a file (`Cleaner::clean` in src/wasm.rs),
    // natively: tools/bench-core.mjs times the same in Chromium, for `make bench`.
    g.bench_function(CLEANER_BENCH, |b| {
        b.iter(|| match s.process_owned(ct.clone()) {
            obscura::deid::Outcome::Done(d) => {
                let meta = serde_json::to_vec(&*d).expect("serialized");
                let entry = obscura::package::Compressed::of_dicom(&d.bytes, &d.transfer_syntax);
                (meta, entry)
            }
            _ => panic!("not cleaned"),
        })
    });
    g.throughput(Throughput::Bytes(sample.len() as u64));
    g.bench_function("de-identify sample image with sequences", |b| {
        b.iter(|| s.deidentify(&sample).expect("cleaned"))
    });
    g.bench_function("first-pass scan of the sample image", |b| {
        b.iter(|| s.scan(&sample).expect("scanned"))
    });
    g.finish();

    // Free text cleaned of the names and IDs of a batch of 2,000 patients.
    let mut batch = Identifiers::default();
    for i in 0..2000 {
        batch.add_patient(&format!("FAKENAME{i}^GIVEN{i}"), true);
        batch.add_patient(&format!("FAKEID{i:06}"), false);
    }
    let ids = Identifiers::default().with_others(std::sync::Arc::new(batch));
    let text = "Follow-up of fakename1234 given1234 (FAKEID001234) after CT of 2024-01-02; \
                compared with the prior study, no change. "
        .repeat(4);
    c.bench_function(
        "scrub 400 characters of free text, 2000 patients known",
        |b| b.iter(|| ids.scrub(&text)),
    );

    // A hostile batch: 248 names of every length from 3 to 250 letters, and 4 MiB of text
    // (once 52–75 s, when each length was looked up at each word).
    let mut hostile = Identifiers::default();
    let letters = "kestrelwandaharrowmoss".repeat(12);
    for n in 3..251 {
        hostile.add_patient(&letters[..n], true);
    }
    let long_text = "Seen by Kestrel on the ward; kestrelwand and harrow moss. ".repeat(72_000);
    let mut g = c.benchmark_group("sweep");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(long_text.len() as u64));
    g.bench_function("scrub 4 MiB of free text, 248 names of every length", |b| {
        b.iter(|| hostile.scrub(&long_text))
    });
    g.finish();

    let key = ProjectKey::from_bytes([7; 32]);
    c.bench_function("UID hashing", |b| {
        b.iter(|| key.uid("1.2.826.0.1.3680043.2.1125.1.34918616334675294208171214.12"))
    });
}

fn pixels(c: &mut Criterion) {
    let cine = rgb_cine(10);
    let regions = [
        Region {
            x: 0,
            y: 0,
            w: 800,
            h: 40,
        },
        Region {
            x: 600,
            y: 500,
            w: 200,
            h: 100,
        },
    ];
    let mut g = c.benchmark_group("pixels");
    g.throughput(Throughput::Elements(10));
    g.bench_function("blank 2 regions in 10 frames 800x600 RGB (frames/s)", |b| {
        b.iter_batched(
            || cine.clone(),
            |mut obj| blank_regions(&mut obj, &regions, true).expect("blanked"),
            BatchSize::LargeInput,
        )
    });

    let ct = ct_slice();
    let words: Vec<u16> = read_file(&ct)
        .ok()
        .and_then(|f| {
            f.get(tags::PIXEL_DATA)
                .and_then(|e| e.value().to_bytes().ok())
                .map(|b| {
                    b.chunks_exact(2)
                        .map(|w| u16::from_le_bytes([w[0], w[1]]))
                        .collect()
                })
        })
        .unwrap_or_default();
    let rle = common::with(
        &ct,
        |o| {
            let fragments =
                PixelFragmentSequence::new(Vec::<u32>::new(), vec![common::rle_fragment(&words)]);
            o.put(DataElement::new(
                tags::PIXEL_DATA,
                VR::OB,
                Value::from(fragments),
            ));
        },
        Some("1.2.840.10008.1.2.5"),
    );
    let rle_file = read_file(&rle).expect("parses");
    g.throughput(Throughput::Elements(1));
    g.bench_function("decode an RLE 512x512 16-bit frame", |b| {
        b.iter(|| luma_frames(&rle_file, &[0]).expect("decoded"))
    });

    // Light text-like strokes on a dark 800×600 frame.
    let mut data = vec![8u8; 800 * 600];
    for line in 0..3 {
        for y in 10 + line * 30..22 + line * 30 {
            for x in 20..400 {
                if (x / 3 + y) % 4 == 0 {
                    data[y * 800 + x] = 230;
                }
            }
        }
    }
    let luma = Luma {
        rows: 600,
        cols: 800,
        data,
    };
    g.bench_function("detect text in an 800x600 frame", |b| {
        b.iter(|| detect::propose(&luma))
    });
    g.finish();
}

fn package(c: &mut Criterion) {
    let ct = ct_slice();
    let mut g = c.benchmark_group("package");
    g.throughput(Throughput::Bytes(ct.len() as u64));
    g.bench_function("ZIP entry of a CT slice", |b| {
        let mut zip = obscura::package::ZipStream::new();
        b.iter(|| zip.add("DICOM/x", &ct))
    });
    // A password-protected package: one entry's key derivation (PBKDF2, 1,000 rounds) and
    // AES-256-CTR + HMAC-SHA1 over its data, as the package goes out.
    g.bench_function(
        "encrypt the ZIP entry of a CT slice (AES-256, key included)",
        |b| {
            let mut zip = obscura::package::ZipStream::new();
            let entry = zip.add_compressed("DICOM/x", &obscura::package::Compressed::stored(&ct));
            b.iter(|| {
                let mut out = obscura::package::PackageOutput::encrypted("a password", [1; 32])
                    .expect("long enough");
                out.push(&entry).expect("an entry")
            })
        },
    );
    g.bench_function("SHA-256 of the ZIP entry of a CT slice (export log)", |b| {
        b.iter(|| {
            let mut out = obscura::package::PackageOutput::plain();
            out.push(&ct).expect("plain")
        })
    });
    let rgba: Vec<u8> = (0..512 * 512 * 4).map(|i| (i % 253) as u8).collect();
    g.throughput(Throughput::Bytes(rgba.len() as u64));
    g.bench_function("PNG of a 512x512 key image", |b| {
        b.iter(|| obscura::package::png::encode(512, 512, &rgba))
    });
    g.finish();
}

criterion_group!(benches, metadata, pixels, package);
criterion_main!(benches);
