//! Every instance of DVV's captured answer (`perustiedot-response-ok.json`,
//! read from the shared conformance folder) of a group this file channel
//! writes under a code of its own or one of the real codes 008, 009, 305,
//! 421, 422 and 423 goes through the codec and comes back value for value, as a
//! whole change, a removal and a censoring.

use std::path::PathBuf;

use vtj_core::{ChangeKind, GroupChange, GroupName, GroupValue, Instance, InstanceKind};
use vtj_format::codec::{decode, encode, json_group, JSON_CODES};

fn capture() -> Option<serde_json::Value> {
    let dirs = [
        std::env::var("VTJ_MUTP_DIR").ok().map(PathBuf::from),
        Some(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance/muutosrajapinta")),
        Some(PathBuf::from("/work/shared/conformance/muutosrajapinta")),
    ];
    let found = dirs.into_iter().flatten().map(|d| d.join("perustiedot-response-ok.json")).find(|f| f.is_file());
    if found.is_none() {
        assert!(std::env::var_os("VTJ_CONFORMANCE_REQUIRED").is_none(), "VTJ_CONFORMANCE_REQUIRED but no capture");
        eprintln!("SKIPPED: DVV's captured answer not found (set VTJ_MUTP_DIR)");
    }
    found.map(|f| serde_json::from_slice(&std::fs::read(f).unwrap()).unwrap())
}

const REAL_CODES: [GroupName; 6] = [
    GroupName::Huoltaja,
    GroupName::Syntymakotikunta,
    GroupName::UlkomainenSyntymapaikka,
    GroupName::Sahkopostiosoite,
    GroupName::UlkomainenHenkilotunnus,
    GroupName::Kutsumanimi,
];

fn written_by_this_test(g: GroupName) -> bool {
    REAL_CODES.contains(&g) || JSON_CODES.iter().any(|(n, _)| *n == g)
}

#[test]
fn the_new_groups_of_dvvs_answer_round_trip_through_the_file_codec() {
    let Some(answer) = capture() else { return };
    let mut checked = std::collections::BTreeSet::new();
    for person in answer["perustiedot"].as_array().unwrap() {
        // A person's instances of one group form one change, as deliveries write them.
        let mut by_group: std::collections::BTreeMap<GroupName, Vec<GroupValue>> = Default::default();
        for g in person["tietoryhmat"].as_array().unwrap() {
            if g.get("turvakiellonAlaisetKentat").is_some() {
                continue;
            }
            let value: GroupValue = serde_json::from_value(g.clone()).unwrap();
            if written_by_this_test(value.name()) {
                by_group.entry(value.name()).or_default().push(value);
            }
        }
        for (name, values) in by_group {
            let change = GroupChange {
                tietoryhma: name,
                muutos: ChangeKind::Added,
                arvot: values.into_iter().map(|arvo| Instance { muutos: InstanceKind::Added, arvo }).collect(),
            };
            let raw = encode(&change).unwrap_or_else(|e| panic!("{name}: {e}"));
            let back = decode(&raw).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(back.unknown.is_empty());
            assert_eq!(back.changes, vec![change], "{name} changed through the file format");
            checked.insert(name);
        }
    }
    // The capture has values of 41 of these 51 groups; the rest occur
    // censored only, or not at all.
    assert!(checked.len() >= 40, "{} groups checked: {checked:?}", checked.len());
    for name in GroupName::ALL.into_iter().filter(|g| written_by_this_test(*g)) {
        for muutos in [ChangeKind::Removed, ChangeKind::Censored] {
            if muutos == ChangeKind::Censored && !name.is_censored_under_turvakielto() {
                continue;
            }
            let marker = GroupChange::marker(name, muutos);
            let back = decode(&encode(&marker).unwrap()).unwrap();
            assert_eq!(back.changes, vec![marker], "{name} {muutos:?}");
        }
    }
}

#[test]
fn own_codes_are_distinct_and_outside_the_real_ones() {
    let mut codes: Vec<[u8; 3]> = JSON_CODES.iter().map(|(_, c)| *c).collect();
    codes.sort();
    codes.dedup();
    assert_eq!(codes.len(), JSON_CODES.len());
    for (g, c) in &JSON_CODES {
        assert!(c[0] == b'9' && c.as_slice() >= b"920".as_slice(), "{g}");
        assert_eq!(json_group(c), Some(*g));
        assert!(!g.as_str().is_empty() && vtj_format::codec::head_code(*g) == c);
    }
    // Every group has a code: the real one, one of the first model's, or ours.
    for g in GroupName::ALL {
        assert_ne!(vtj_format::codec::head_code(g), b"999", "{g} has no file code");
    }
}
