//! Every shared conformance file parses and re-serialises byte for byte.
//! The files are not in the repository (their licence and the brief say so):
//! they are read from `VTJ_CONFORMANCE_DIR`, or `../shared/conformance/
//! muutostietopalvelu` beside the checkout when it exists.

use std::path::PathBuf;

use proptest::prelude::*;
use vtj_format::{read, write, Ending, Line, LineKind, RawGroup, Record, ID_LEN};

fn conformance_dir() -> Option<PathBuf> {
    if let Ok(d) = std::env::var("VTJ_CONFORMANCE_DIR") {
        return Some(PathBuf::from(d));
    }
    let beside = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance/muutostietopalvelu");
    beside.is_dir().then_some(beside)
}

#[test]
fn conformance_files_round_trip_byte_identically() {
    let Some(dir) = conformance_dir() else {
        assert!(std::env::var_os("VTJ_CONFORMANCE_REQUIRED").is_none(), "VTJ_CONFORMANCE_REQUIRED but no directory");
        eprintln!("SKIPPED: no conformance directory (set VTJ_CONFORMANCE_DIR)");
        return;
    };
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if !(name.contains(".PTT") || name.contains(".MTT") || name.contains(".HTT")) {
            continue;
        }
        let bytes = std::fs::read(&path).unwrap();
        let lines = read(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(write(&lines), bytes, "{name} did not re-serialise byte for byte");
        let records = lines.iter().filter(|l| matches!(l.kind, LineKind::Record(_))).count();
        let ops = lines.iter().filter(|l| matches!(l.kind, LineKind::HetuOp { .. })).count();
        assert!(records + ops > 0, "{name}: nothing read");
        // Every group fits the fixed-width layout of its code, field by field
        // (dates are VTJ dates, hetus valid), and no code is unknown.
        let survey = vtj_format::layout::survey(&lines);
        assert!(survey.problems.is_empty(), "{name}: {:#?}", survey.problems);
        assert!(survey.unknown.is_empty(), "{name}: unknown group codes {:?}", survey.unknown);
        assert_eq!(survey.records, records);
        if name.ends_with(".HTT") {
            let upload = vtj_format::htt::read_hetu_list(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(upload.add.len() + upload.remove.len(), ops);
        }
        checked += 1;
    }
    assert!(checked >= 5, "expected the shared files, found {checked} in {}", dir.display());
}

fn arb_field_bytes() -> impl Strategy<Value = Vec<u8>> {
    // Any Latin-1 byte but the separators and line breaks.
    prop::collection::vec(any::<u8>().prop_filter("separator", |b| !matches!(b, b'|' | b'\n' | b'\r')), 0..40)
}

fn arb_record() -> impl Strategy<Value = Record> {
    (
        prop::collection::vec(any::<u8>().prop_filter("id", |b| !matches!(b, b'|' | b'\n' | b'\r' | b'\'')), ID_LEN),
        prop::collection::vec((0u16..1000, 0u8..10, arb_field_bytes()), 0..8),
        any::<bool>(),
    )
        .prop_map(|(id, groups, trailing_bar)| Record {
            id: id.try_into().unwrap(),
            groups: groups
                .into_iter()
                .map(|(c, m, fields)| {
                    let code = format!("{c:03}").into_bytes();
                    RawGroup { code: [code[0], code[1], code[2]], change: b'0' + m, fields }
                })
                .collect(),
            trailing_bar,
        })
        .prop_filter("a record without groups ends in its separator", |r| !r.groups.is_empty() || !r.trailing_bar)
}

proptest! {
    #[test]
    fn records_round_trip(records in prop::collection::vec(arb_record(), 1..20), crlf in any::<bool>(), last_open in any::<bool>()) {
        let n = records.len();
        let lines: Vec<Line> = records
            .into_iter()
            .enumerate()
            .map(|(i, r)| Line {
                kind: LineKind::Record(r),
                ending: if i + 1 == n && last_open { Ending::None } else if crlf { Ending::CrLf } else { Ending::Lf },
            })
            .collect();
        let bytes = write(&lines);
        prop_assert_eq!(read(&bytes).unwrap(), lines);
    }
}
