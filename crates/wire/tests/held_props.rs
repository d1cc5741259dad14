//! The register's stored text, written without decoding it: for any held
//! person and any change records, `apply_stored` gives exactly the text
//! that decoding, `Held::apply` and serialising again give, and
//! `stored_record` exactly what `Held::from_record` serialises to.

use proptest::prelude::*;
use serde_json::{json, Map, Value};
use vtj_wire::group::attribute;
use vtj_wire::held::{apply_stored, stored_record};
use vtj_wire::{ChangeRecord, Group, Held, PersonRecord};

/// Names the rule treats differently (current and earlier addresses,
/// TURVAKIELTO), a repeated group, one outside ASCII and one whose name
/// needs escaping.
const NAMES: &[&str] = &[
    "VAKINAINEN_KOTIMAINEN_OSOITE",
    "EDELLINEN_KOTIMAINEN_OSOITE",
    "TURVAKIELTO",
    "NIMENMUUTOS",
    "KOTIKUNTA",
    "HENKILOTUNNUS_KORJAUS",
    "ÄIDINKIELI",
    "OMA \"LAJI\"",
];

const ATTRIBUTES: &[&str] = &[
    attribute::LISATTY,
    attribute::MUUTETTU,
    attribute::POISTETTU,
    attribute::LISATIETO,
    attribute::KORJATTAVA,
    attribute::KORJATTU,
];

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        prop::sample::select(vec!["a", "Äänekoski", "\"lainaus\"", "kenoviiva \\", "rivi\nvaihto", ""])
            .prop_map(Value::from),
        any::<i32>().prop_map(Value::from),
        prop::sample::select(vec![0.5, -2.25, 1e21, 3.0]).prop_map(Value::from),
        any::<bool>().prop_map(Value::from),
        Just(Value::Null),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    scalar().prop_recursive(2, 8, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
            (inner.clone(), inner).prop_map(|(fi, sv)| json!({"fi": fi, "sv": sv})),
        ]
    })
}

/// Value fields, including those the rule reads.
fn fields() -> impl Strategy<Value = Vec<(String, Value)>> {
    let key = prop::sample::select(vec![
        "arvo",
        "katunimi",
        "loppupv",
        "turvakieltoAktiivinen",
        "kuntakoodi",
        "nimi",
        "ä\"x",
    ]);
    prop::collection::vec((key.prop_map(str::to_string), value()), 0..5)
}

/// A group object with its name, and the fields that describe a change,
/// at any place among its fields.
fn group_with(attributes: bool) -> impl Strategy<Value = Group> {
    let attribute =
        if attributes { prop::option::of(prop::sample::select(ATTRIBUTES)).boxed() } else { Just(None).boxed() };
    let in_force = if attributes {
        prop::option::of(prop::collection::vec((prop::option::of(prop::sample::select(NAMES)), fields()), 0..3)).boxed()
    } else {
        Just(None).boxed()
    };
    let places = [any::<prop::sample::Index>(), any::<prop::sample::Index>(), any::<prop::sample::Index>()];
    (prop::sample::select(NAMES), fields(), places, attribute, in_force).prop_map(
        |(name, fields, [at, attribute_at, in_force_at], attribute, in_force)| {
            let mut pairs: Vec<(String, Value)> = fields;
            pairs.insert(at.index(pairs.len() + 1), ("tietoryhma".into(), name.into()));
            if let Some(a) = attribute {
                pairs.insert(attribute_at.index(pairs.len() + 1), ("muutosattribuutti".into(), a.into()));
            }
            if let Some(items) = in_force {
                let items = items
                    .into_iter()
                    .map(|(n, f)| {
                        let mut m: Map<String, Value> = f.into_iter().collect();
                        if let Some(n) = n {
                            m.insert("tietoryhma".into(), n.into());
                        }
                        Value::Object(m)
                    })
                    .collect();
                pairs.insert(in_force_at.index(pairs.len() + 1), ("voimassaolevatTiedot".into(), Value::Array(items)));
            }
            Group::new(pairs.into_iter().collect()).expect("has its name")
        },
    )
}

fn record(groups: Vec<Group>) -> ChangeRecord {
    ChangeRecord {
        henkilotunnus: "010181-900C".into(),
        tietoryhmat: groups,
        muutospv: "2026-01-01T00:00:00.000Z".into(),
        poistuu_rajauksesta: false,
    }
}

/// A group read back from JSON text, compact or spaced out.
fn reread(g: &Group, spaced: bool) -> Group {
    let text =
        if spaced { serde_json::to_string_pretty(g.fields()).unwrap() } else { serde_json::to_string(g).unwrap() };
    serde_json::from_str(&text).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    /// A group read from its text is the group its values make: the same
    /// name, attribute, censoring, values, held form and typed value.
    #[test]
    fn a_group_read_from_text_is_the_group_of_its_values(g in group_with(true), spaced in any::<bool>()) {
        let read = reread(&g, spaced);
        prop_assert_eq!(read.name(), g.name());
        prop_assert_eq!(read.attribute(), g.attribute());
        prop_assert_eq!(read.is_censored(), g.is_censored());
        prop_assert_eq!(read.fields(), g.fields());
        prop_assert_eq!(&read, &g);
        let mut held = g.fields().clone();
        held.shift_remove("muutosattribuutti");
        held.shift_remove("voimassaolevatTiedot");
        let read_held: Map<String, Value> = serde_json::from_str(read.held().text()).unwrap();
        // The same members in the same order.
        prop_assert_eq!(read_held.iter().collect::<Vec<_>>(), held.iter().collect::<Vec<_>>());
        prop_assert_eq!(read.held(), g.held());
        prop_assert_eq!(read.typed(), g.typed());
        prop_assert_eq!(read.in_force(), g.in_force());
    }

    #[test]
    fn stored_text_changes_as_the_decoded_person_does(
        first in prop::collection::vec(group_with(true), 0..8),
        changes in prop::collection::vec(prop::collection::vec(group_with(true), 0..6), 1..5),
    ) {
        let person = PersonRecord { henkilotunnus: "010181-900C".into(), tietoryhmat: first };
        let mut held = Held::from_record(&person);
        let mut stored = stored_record(&person).unwrap();
        prop_assert_eq!(&stored, &serde_json::to_string(&held).unwrap());
        for (i, groups) in changes.into_iter().enumerate() {
            // As the client reads them: from text, spaced out or not.
            let change = record(groups.iter().map(|g| reread(g, i % 2 == 1)).collect());
            held.apply(&change);
            let decoded: Held = serde_json::from_str(&stored).unwrap();
            let mut expected = decoded.clone();
            expected.apply(&change);
            stored = apply_stored(&stored, &change).unwrap();
            prop_assert_eq!(&stored, &serde_json::to_string(&expected).unwrap());
            prop_assert_eq!(&serde_json::from_str::<Held>(&stored).unwrap(), &held);
        }
    }
}

#[test]
fn stored_text_that_is_not_a_person_is_refused() {
    let change = record(vec![Group::new(json!({"tietoryhma": "KOTIKUNTA"}).as_object().unwrap().clone()).unwrap()]);
    for bad in ["", "{}", "[1]", r#"[{"nimi":"A"}]"#, r#"[{"tietoryhma":1}]"#, r#"[{"tietoryhma":"A"}"#] {
        assert!(apply_stored(bad, &change).is_err(), "{bad:?} was taken as a person");
    }
    assert_eq!(apply_stored("[]", &change).unwrap(), r#"[{"tietoryhma":"KOTIKUNTA"}]"#);
}
