//! Random persons' groups and changes, written as a delivery and read back,
//! are the same values; and what cannot be written is refused, not mangled.

use proptest::prelude::*;
use time::{Date, Month};
use vtj_core::groups::*;
use vtj_core::kunta::kunnat;
use vtj_core::{ChangeKind, GroupChange, GroupName, GroupValue, Hetu, Sex, VtjDate};
use vtj_format::delivery::{encode_item, DeliveryKind, DeliveryReader, DeliveryWriter, Header, Item, Role};

fn text(max: usize) -> impl Strategy<Value = String> {
    // Latin-1 letters, inner blanks, never a trailing blank (fields are blank-padded).
    prop::string::string_regex(&format!("[A-Za-zÄÖÅäöåéü][A-Za-zÄÖÅäöåéü' .-]{{0,{}}}[A-Za-zÄÖÅäöåéü]", max - 2))
        .expect("regex")
}

fn opt_text(max: usize) -> impl Strategy<Value = Option<String>> {
    prop::option::of(text(max))
}

fn digits(n: usize) -> impl Strategy<Value = String> {
    prop::string::string_regex(&format!("[0-9]{{{n}}}")).expect("regex")
}

fn day() -> impl Strategy<Value = Date> {
    (1900i32..2030, 1u8..=12, 1u8..=28)
        .prop_map(|(y, m, d)| Date::from_calendar_date(y, Month::try_from(m).unwrap(), d).unwrap())
}

fn vdate() -> impl Strategy<Value = VtjDate> {
    prop_oneof![
        Just(VtjDate::Unknown),
        (1800u16..2100).prop_map(VtjDate::Year),
        (1800u16..2100, 1u8..=12).prop_map(|(y, m)| VtjDate::YearMonth(y, m)),
        day().prop_map(VtjDate::Full),
        Just(VtjDate::Indefinite),
    ]
}

/// An end date: absent, or a known one (`00000000` is how absence is written).
fn end_date() -> impl Strategy<Value = Option<VtjDate>> {
    prop::option::of(vdate().prop_filter("known", |d| *d != VtjDate::Unknown))
}

fn hetu() -> impl Strategy<Value = Hetu> {
    (day(), 900u16..1000, 0usize..6).prop_map(|(d, n, s)| {
        let signs = vtj_core::hetu::century_signs(d.year());
        Hetu::from_parts(d, signs[s % signs.len()], n).unwrap()
    })
}

fn person() -> impl Strategy<Value = Edunvalvoja> {
    (prop::option::of(hetu()), text(100)).prop_map(|(henkilotunnus, nimi)| Edunvalvoja { henkilotunnus, nimi })
}

fn kotimainen() -> impl Strategy<Value = KotimainenOsoite> {
    (
        (text(100), opt_text(100), text(7), prop::option::of("[A-Z]"), prop::option::of(0u16..1000)),
        (digits(5), text(50), opt_text(50), vdate(), end_date()),
    )
        .prop_map(|((fi, sv, nro, kirjain, numero), (postinumero, tp_fi, tp_sv, alku, loppu))| KotimainenOsoite {
            katunimi_fi: fi,
            katunimi_sv: sv,
            katunumero: nro,
            huoneistokirjain: kirjain,
            huoneistonumero: numero,
            postinumero,
            postitoimipaikka_fi: tp_fi,
            postitoimipaikka_sv: tp_sv,
            alkupaiva: alku,
            loppupaiva: loppu,
        })
}

fn posti() -> impl Strategy<Value = Postiosoite> {
    (text(100), opt_text(100), digits(5), text(50), opt_text(50), vdate(), end_date()).prop_map(
        |(fi, sv, postinumero, tp_fi, tp_sv, alku, loppu)| Postiosoite {
            postiosoite_fi: fi,
            postiosoite_sv: sv,
            postinumero,
            postitoimipaikka_fi: tp_fi,
            postitoimipaikka_sv: tp_sv,
            alkupaiva: alku,
            loppupaiva: loppu,
        },
    )
}

fn ulkomainen() -> impl Strategy<Value = UlkomainenOsoite> {
    (text(80), text(80), digits(3), vdate(), end_date()).prop_map(|(k, p, v, alku, loppu)| UlkomainenOsoite {
        katuosoite: k,
        paikkakunta: p,
        valtiokoodi: v,
        alkupaiva: alku,
        loppupaiva: loppu,
    })
}

fn value() -> impl Strategy<Value = GroupValue> {
    let kunta = (0..kunnat().len(), vdate())
        .prop_map(|(i, alkupaiva)| GroupValue::Kotikunta(Kotikunta { kuntakoodi: kunnat()[i].code, alkupaiva }));
    prop_oneof![
        (hetu(), prop::collection::vec(hetu(), 0..3)).prop_map(|(v, a)| GroupValue::HenkilotunnusKorjaus(
            HetuKorjaus { voimassaoleva_henkilotunnus: v, aiemmat_henkilotunnukset: a }
        )),
        (text(100), text(100), opt_text(100), vdate()).prop_map(|(s, e, k, a)| GroupValue::HenkilonNimi(Nimi {
            sukunimi: s,
            etunimet: e,
            kutsumanimi: k,
            alkupaiva: a
        })),
        prop::collection::vec((any::<bool>(), text(100), vdate(), vdate()), 0..4).prop_map(|names| {
            GroupValue::Nimenmuutos(Nimenmuutos {
                aiemmat_nimet: names
                    .into_iter()
                    .map(|(s, nimi, alkupaiva, loppupaiva)| AiempiNimi {
                        nimilaji: if s { Nimilaji::Sukunimi } else { Nimilaji::Etunimet },
                        nimi,
                        alkupaiva,
                        loppupaiva,
                    })
                    .collect(),
            })
        }),
        any::<bool>()
            .prop_map(|m| GroupValue::Sukupuoli(SukupuoliArvo { sukupuoli: if m { Sex::Male } else { Sex::Female } })),
        prop_oneof!["[a-z]{2}".prop_map(Kieli::Iso), text(30).prop_map(Kieli::Other)].prop_map(GroupValue::Aidinkieli),
        any::<bool>().prop_map(|f| GroupValue::Asiointikieli(AsiointikieliArvo {
            kielikoodi: if f { Asiointikieli::Fi } else { Asiointikieli::Sv }
        })),
        prop::collection::vec(digits(3), 0..3).prop_map(|valtiot| GroupValue::Kansalaisuus(Kansalaisuus { valtiot })),
        vdate().prop_map(|d| GroupValue::Kuolinpaiva(Kuolinpaiva { kuolinpaiva: d })),
        vdate().prop_map(|d| GroupValue::Turvakielto(Turvakielto { paattymispaiva: d })),
        (vdate(), any::<bool>(), prop::collection::vec(person(), 0..3)).prop_map(|(a, r, e)| {
            GroupValue::Edunvalvonta(Edunvalvonta { alkupaiva: a, toimintakelpoisuus_rajoitettu: r, edunvalvojat: e })
        }),
        (vdate(), prop::collection::vec(person(), 0..3)).prop_map(|(v, p)| GroupValue::Edunvalvontavaltuutus(
            Edunvalvontavaltuutus { vahvistamispaiva: v, valtuutetut: p }
        )),
        kotimainen().prop_map(GroupValue::VakinainenKotimainenOsoite),
        kotimainen().prop_map(GroupValue::TilapainenKotimainenOsoite),
        posti().prop_map(GroupValue::KotimainenPostiosoite),
        posti().prop_map(GroupValue::KotimainenYhteysosoite),
        ulkomainen().prop_map(GroupValue::VakinainenUlkomainenOsoite),
        ulkomainen().prop_map(GroupValue::TilapainenUlkomainenOsoite),
        ulkomainen().prop_map(GroupValue::UlkomainenPostiosoite),
        ulkomainen().prop_map(GroupValue::UlkomainenYhteysosoite),
        kunta,
    ]
}

fn change() -> impl Strategy<Value = GroupChange> {
    (value(), 0u8..4).prop_map(|(v, k)| {
        let tietoryhma = v.name();
        match k {
            0 => GroupChange { tietoryhma, muutos: ChangeKind::Added, arvo: Some(v) },
            1 => GroupChange { tietoryhma, muutos: ChangeKind::Changed, arvo: Some(v) },
            2 => GroupChange { tietoryhma, muutos: ChangeKind::Removed, arvo: None },
            _ if tietoryhma.is_censored_under_turvakielto() => {
                GroupChange { tietoryhma, muutos: ChangeKind::Censored, arvo: None }
            }
            _ => GroupChange { tietoryhma, muutos: ChangeKind::Changed, arvo: Some(v) },
        }
    })
}

fn item() -> impl Strategy<Value = Item> {
    let events = ["PERUSTIEDOT", "SYNTYMA", "MUUTTO_TOISEEN_KUNTAAN", "TIETOJEN_MUUTOS", "HENKILOTUNNUS_KORJAUS"];
    (hetu(), 0..events.len(), day(), 0u8..4, prop::collection::vec(change(), 0..12)).prop_map(
        move |(hetu, e, registered, r, changes)| {
            // One change per group in a record, as render gives them.
            let mut seen = std::collections::BTreeSet::new();
            let groups = changes.into_iter().filter(|c| seen.insert(c.tietoryhma)).collect();
            let role = [Role::Initial, Role::Change, Role::Enter, Role::Leave][usize::from(r)];
            Item { hetu, event: events[e].to_string(), registered, role, groups }
        },
    )
}

fn header(kind: DeliveryKind) -> Header {
    Header {
        kind,
        recipient: "FI-GOV-0245437-2-asrek".into(),
        permit: "LUPA-1".into(),
        seq: 3,
        from: 10,
        to: 99,
        created: Date::from_calendar_date(2026, Month::November, 22).unwrap(),
    }
}

fn write_all(items: &[Item]) -> Vec<u8> {
    let mut w = DeliveryWriter::new(Vec::new(), &header(DeliveryKind::Changes)).unwrap();
    for i in items {
        w.write(i).unwrap();
    }
    w.finish().unwrap()
}

fn read_all(bytes: &[u8]) -> Result<Vec<Item>, vtj_format::delivery::DeliveryError> {
    let mut r = DeliveryReader::new(bytes)?;
    assert_eq!(r.header(), &header(DeliveryKind::Changes));
    let mut out = Vec::new();
    while let Some(i) = r.next_item()? {
        out.push(i);
    }
    assert!(r.unknown.is_empty());
    Ok(out)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn items_round_trip_through_a_delivery(items in prop::collection::vec(item(), 0..20)) {
        let bytes = write_all(&items);
        prop_assert_eq!(read_all(&bytes).unwrap(), items);
    }

    #[test]
    fn long_records_continue_on_numbered_lines(it in item(), max in 200usize..900) {
        let lines = encode_item(&it, max).unwrap();
        for (n, l) in lines.iter().enumerate() {
            let want = format!("{:02}", n + 1);
            prop_assert_eq!(&l[24..26], want.as_bytes());
        }
        let mut bytes = vtj_format::latin1::encode(
            "'''ED2'''VTJ:FI-GOV-0245437-2-asrek'TYP:MTT'LUPA:LUPA-1'NRO:3'ALKU:10'LOPPU:99'PVM:20261122'''\r\n",
        ).unwrap();
        for l in &lines {
            bytes.extend_from_slice(l);
            bytes.extend_from_slice(b"\r\n");
        }
        bytes.extend_from_slice(format!("'''EOF'''{}'\r\n", lines.len()).as_bytes());
        prop_assert_eq!(read_all(&bytes).unwrap(), vec![it]);
    }

    #[test]
    fn every_cut_of_a_file_is_an_error(items in prop::collection::vec(item(), 1..4), cut in any::<prop::sample::Index>()) {
        let bytes = write_all(&items);
        let at = cut.index(bytes.len() - 1);
        prop_assert!(read_all(&bytes[..at]).is_err(), "cut at {} of {} read as complete", at, bytes.len());
    }
}

#[test]
fn censored_groups_carry_the_placeholder_and_nothing_of_the_person() {
    let it = Item {
        hetu: Hetu::parse("010181-900C").unwrap(),
        event: "TIETOJEN_MUUTOS".into(),
        registered: Date::from_calendar_date(2026, Month::March, 1).unwrap(),
        role: Role::Change,
        groups: GroupName::CENSORED_UNDER_TURVAKIELTO
            .iter()
            .map(|&g| GroupChange { tietoryhma: g, muutos: ChangeKind::Censored, arvo: None })
            .collect(),
    };
    let line = vtj_format::latin1::decode(&encode_item(&it, 10_000).unwrap()[0]);
    assert!(line.contains("|204300000000000|"), "{line}");
    assert_eq!(line.matches("***Lisätietoja").count(), 6, "{line}");
    let bytes = write_all(std::slice::from_ref(&it));
    assert_eq!(read_all(&bytes).unwrap(), vec![it]);
}

#[test]
fn what_cannot_be_written_is_refused_with_where() {
    let base = |v: GroupValue| Item {
        hetu: Hetu::parse("010181-900C").unwrap(),
        event: "NIMENMUUTOS".into(),
        registered: Date::from_calendar_date(2026, Month::March, 1).unwrap(),
        role: Role::Change,
        groups: vec![GroupChange { tietoryhma: v.name(), muutos: ChangeKind::Changed, arvo: Some(v) }],
    };
    let nimi = |s: &str| {
        GroupValue::HenkilonNimi(Nimi {
            sukunimi: s.into(),
            etunimet: "Testi".into(),
            kutsumanimi: None,
            alkupaiva: VtjDate::Unknown,
        })
    };
    let e = encode_item(&base(nimi("Šimková")), 2000).unwrap_err().to_string();
    assert!(e.contains("010181-900C") && e.contains("sukunimi") && e.contains("character 1"), "{e}");
    let e = encode_item(&base(nimi(&"A".repeat(101))), 2000).unwrap_err().to_string();
    assert!(e.contains("101 bytes do not fit its 100"), "{e}");
    let e = encode_item(&base(nimi("A|B")), 2000).unwrap_err().to_string();
    assert!(e.contains("`|`"), "{e}");
}

#[test]
fn unknown_groups_are_counted_not_applied_and_bad_headers_refused() {
    let head = "'''ED2'''VTJ:R'TYP:MTT'LUPA:L'NRO:2'ALKU:1'LOPPU:5'PVM:20261122'''\r\n";
    let file = format!("{head}010181-900CYTM202603010101|013120260101|8881abc|\r\n'''EOF'''1'\r\n");
    let mut r = DeliveryReader::new(file.as_bytes()).unwrap();
    let it = r.next_item().unwrap().unwrap();
    assert_eq!(it.groups.len(), 1);
    assert_eq!(r.next_item().unwrap(), None);
    assert_eq!(r.unknown.get("888"), Some(&1));

    for bad in ["'''ED2'''VTJ:R'TYP:XTT'''\r\n", "010181-900C\r\n", ""] {
        assert!(DeliveryReader::new(bad.as_bytes()).is_err(), "{bad:?}");
    }
    let miscounted = format!("{head}'''EOF'''3'\r\n");
    let e = DeliveryReader::new(miscounted.as_bytes()).unwrap().next_item().unwrap_err().to_string();
    assert!(e.contains("does not count the 0 record lines"), "{e}");
}
