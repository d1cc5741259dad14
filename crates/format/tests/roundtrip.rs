//! Random persons' groups and changes, written as a delivery and read back,
//! are the same values; and what cannot be written is refused, not mangled.

use proptest::prelude::*;
use time::{Date, Month};
use vtj_core::groups::*;
use vtj_core::kunta::kunnat;
use vtj_core::{ChangeKind, GroupChange, GroupName, GroupValue, Hetu, Instance, InstanceKind, Sex, VtjDate};
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

fn localized(max: usize) -> impl Strategy<Value = Localized> {
    (text(max), opt_text(max)).prop_map(|(fi, sv)| Localized { fi, sv })
}

fn kotimainen() -> impl Strategy<Value = KotimainenOsoite> {
    (
        (localized(100), text(7), prop::option::of("[A-Z]"), prop::option::of(digits(3)), prop::option::of("[a-z]")),
        (digits(5), localized(50), prop::option::of("9[0-9]{8}[A-Z]"), prop::option::of(1u32..1000)),
        (prop::option::of(0..kunnat().len()), end_date()),
    )
        .prop_map(
            |((katunimi, nro, kirjain, numero, jako), (postinumero, tp, rakennus, osoitenumero), (kunta, alku))| {
                KotimainenOsoite {
                    katunimi,
                    katunumero: nro,
                    huoneistokirjain: kirjain,
                    huoneistonumero: numero,
                    jakokirjain: jako,
                    postinumero,
                    postitoimipaikka: tp,
                    rakennustunnus: rakennus,
                    osoitenumero,
                    kuntakoodi: kunta.map(|i| kunnat()[i].code),
                    alkupv: alku,
                }
            },
        )
}

fn posti() -> impl Strategy<Value = Postiosoite> {
    (localized(100), digits(5), localized(50)).prop_map(|(postiosoite, postinumero, postitoimipaikka)| Postiosoite {
        postiosoite,
        postinumero,
        postitoimipaikka,
    })
}

fn ulkomainen() -> impl Strategy<Value = UlkomainenOsoite> {
    (text(80), text(80), digits(3), end_date()).prop_map(|(l, p, v, alku)| UlkomainenOsoite {
        lahiosoite: l,
        paikkakunta: p,
        valtiokoodi: v,
        alkupv: alku,
    })
}

fn ulkoposti() -> impl Strategy<Value = UlkomainenPostiosoite> {
    (text(80), opt_text(80), text(80), digits(3)).prop_map(|(o, l, p, v)| UlkomainenPostiosoite {
        postiosoite: o,
        postiosoite_lisarivi: l,
        postitoimipaikka: p,
        valtiokoodi: v,
    })
}

fn nimenmuutos() -> impl Strategy<Value = GroupValue> {
    (any::<bool>(), text(100), end_date(), end_date()).prop_map(|(s, nimi, alkupv, loppupv)| {
        GroupValue::Nimenmuutos(Nimenmuutos {
            nimilaji: if s { EDELLINEN_SUKUNIMI } else { EDELLINEN_ETUNIMI }.to_string(),
            nimi_utf8: Some(nimi.clone()),
            nimi,
            nimenmuutostapa: None,
            alkupv,
            loppupv,
        })
    })
}

/// A guardian (group 305 with its 913, 451 and 320s): with a hetu or
/// without; the UTF-8 names beyond Latin-1 as DVV's may be, the plain
/// ones Latin-1; rights.
fn huoltaja() -> impl Strategy<Value = GroupValue> {
    let names = (opt_text(60), opt_text(60), any::<bool>());
    let who = (prop::option::of(hetu()), names, end_date(), prop::option::of(any::<bool>()));
    let laji = prop::sample::select(vec![None, Some(code::LAKISAATEINEN_HUOLTAJA), Some(code::MAARATTY_HUOLTAJA)]);
    let rooli = prop::sample::select(vec![
        None,
        Some(code::AITI),
        Some(code::ISA),
        Some(code::ADOPTIOAITI),
        Some(code::ADOPTIOISA),
        Some(code::SOSIAALILAUTAKUNTA),
    ]);
    let oikeus = ("[A-Z0-9]{4}", end_date(), end_date()).prop_map(|(oikeus, alkupv, loppupv)| Oikeus {
        oikeus,
        alkupv,
        loppupv,
    });
    (who, laji, rooli, end_date(), end_date(), prop::collection::vec(oikeus, 0..3)).prop_map(
        |((henkilotunnus, (etunimet, sukunimi, wide), syntymapv, male), laji, rooli, alkupv, loppupv, oikeudet)| {
            let utf8 = |n: &Option<String>| n.as_ref().map(|n| if wide { format!("Ŝ{n}") } else { n.clone() });
            GroupValue::Huoltaja(Huoltaja {
                huoltaja: RelatedPerson {
                    henkilotunnus,
                    etunimet_utf8: utf8(&etunimet),
                    sukunimi_utf8: utf8(&sukunimi),
                    etunimet,
                    sukunimi,
                    syntymapv,
                    sukupuoli: male.map(|m| if m { Sex::Male } else { Sex::Female }),
                },
                huoltajan_laji: laji.map(String::from),
                huoltajan_rooli: rooli.map(String::from),
                huoltosuhteen_alkupv: alkupv,
                huoltosuhteen_loppupv: loppupv,
                oikeudet: Some(oikeudet),
            })
        },
    )
}

/// A group's instances: several for a repeated group, one otherwise.
fn values() -> impl Strategy<Value = Vec<GroupValue>> {
    let kunta = (0..kunnat().len(), end_date()).prop_map(|(i, kuntaan_muuttopv)| {
        GroupValue::Kotikunta(Kotikunta { kuntakoodi: kunnat()[i].code, kuntaan_muuttopv })
    });
    let kansalaisuus = (digits(3), any::<bool>(), end_date()).prop_map(|(k, aktiivi, saamispv)| KansalaisuusRivi {
        kansalaisuuskoodi: k,
        kansalaisuusnimi: None,
        voimassaolo: if aktiivi { Voimassaolo::Aktiivi } else { Voimassaolo::Passiivi },
        saamispv,
    });
    let one = prop_oneof![
        (hetu(), prop::collection::vec(hetu(), 0..3)).prop_map(|(v, a)| GroupValue::HenkilotunnusKorjaus(
            HetuKorjaus {
                aktiivinen_henkilotunnus: v,
                edelliset_henkilotunnukset: a,
                muutettu_henkilotunnus: v,
                voimassaolo: Voimassaolo::Aktiivi
            }
        )),
        (text(100), text(100), end_date()).prop_map(|(s, e, a)| GroupValue::HenkilonNimi(Nimi::new(&e, &s, a))),
        any::<bool>()
            .prop_map(|m| GroupValue::Sukupuoli(Sukupuoli { sukupuoli: if m { Sex::Male } else { Sex::Female } })),
        prop_oneof!["[a-z]{2}".prop_map(|c| Kieli::iso(&c)), text(30).prop_map(|n| Kieli::other(&n))]
            .prop_map(GroupValue::Aidinkieli),
        (any::<bool>(), end_date()).prop_map(|(f, a)| GroupValue::Asiointikieli(Asiointikieli::new(
            if f { AsiointikieliKoodi::Fi } else { AsiointikieliKoodi::Sv },
            a
        ))),
        prop::collection::vec(kansalaisuus, 0..3)
            .prop_map(|k| GroupValue::Kansalaisuus(Kansalaisuus { henkilon_kansalaisuudet: k })),
        vdate().prop_map(|d| GroupValue::Kuolinpaiva(Kuolinpaiva { kuollut: true, kuolinpv: d })),
        end_date()
            .prop_map(|d| GroupValue::Turvakielto(Turvakielto { turvakielto_aktiivinen: true, turva_loppu_pv: d })),
        (vdate(), any::<bool>(), prop::collection::vec(person(), 0..3)).prop_map(|(a, r, e)| {
            GroupValue::Edunvalvonta(Edunvalvonta { alkupv: a, toimintakelpoisuus_rajoitettu: r, edunvalvojat: e })
        }),
        (vdate(), prop::collection::vec(person(), 0..3)).prop_map(|(v, p)| GroupValue::Edunvalvontavaltuutus(
            Edunvalvontavaltuutus { vahvistamispv: v, valtuutetut: p }
        )),
        kotimainen().prop_map(GroupValue::VakinainenKotimainenOsoite),
        kotimainen().prop_map(GroupValue::TilapainenKotimainenOsoite),
        posti().prop_map(GroupValue::KotimainenPostiosoite),
        posti().prop_map(GroupValue::KotimainenYhteysosoite),
        ulkomainen().prop_map(GroupValue::VakinainenUlkomainenOsoite),
        ulkomainen().prop_map(GroupValue::TilapainenUlkomainenOsoite),
        ulkoposti().prop_map(GroupValue::UlkomainenPostiosoite),
        ulkoposti().prop_map(GroupValue::UlkomainenYhteysosoite),
        kunta,
    ];
    prop_oneof![
        one.prop_map(|v| vec![v]),
        prop::collection::vec(nimenmuutos(), 1..4),
        prop::collection::vec(huoltaja(), 1..4)
    ]
}

fn change() -> impl Strategy<Value = GroupChange> {
    (values(), 0u8..4).prop_map(|(v, k)| {
        let tietoryhma = v[0].name();
        let with = |muutos, kind| GroupChange {
            tietoryhma,
            muutos,
            arvot: v.iter().map(|arvo| Instance { muutos: kind, arvo: arvo.clone() }).collect(),
        };
        match k {
            0 => with(ChangeKind::Added, InstanceKind::Added),
            2 => GroupChange::marker(tietoryhma, ChangeKind::Removed),
            3 if tietoryhma.is_censored_under_turvakielto() => GroupChange::marker(tietoryhma, ChangeKind::Censored),
            _ => with(ChangeKind::Changed, InstanceKind::Changed),
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
            .map(|&g| GroupChange::marker(g, ChangeKind::Censored))
            .collect(),
    };
    let line = vtj_format::latin1::decode(&encode_item(&it, 10_000).unwrap()[0]);
    assert!(line.contains("|204300000000000|"), "{line}");
    // Every censored group but KOTIKUNTA (`000`) carries the placeholder once.
    assert_eq!(line.matches("***Lisätietoja").count(), GroupName::CENSORED_UNDER_TURVAKIELTO.len() - 1, "{line}");
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
        groups: vec![GroupChange {
            tietoryhma: v.name(),
            muutos: ChangeKind::Changed,
            arvot: vec![Instance { muutos: InstanceKind::Changed, arvo: v }],
        }],
    };
    let nimi = |s: &str| GroupValue::HenkilonNimi(Nimi::new("Testi", s, None));
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

fn raw(text: &str) -> vtj_format::RawGroup {
    let b = vtj_format::latin1::encode(text).unwrap();
    vtj_format::RawGroup { code: [b[0], b[1], b[2]], change: b[3], fields: b[4..].to_vec() }
}

/// Group 305's fields after the kind and role: start, no end, no living data.
fn tail(start: &str) -> String {
    format!("{start}00000000 0000000000000000")
}

#[test]
fn guardians_of_a_real_file_are_read_and_the_2017_layout_is_named() {
    // As DVV writes them since 2019: 305 with a hetu and nothing of ours;
    // a guardian without hetu in 451; a right in 320.
    let blank_hetu = " ".repeat(11);
    let groups = [
        raw(&format!("3051010181-900C11{}", tail("20210101"))),
        raw(&format!("3051{blank_hetu}12{}", tail("20210101"))),
        raw(&format!("4510197501011{:<100}{:<100}752", "Ulkomies Tes", "Urho")),
        raw("3200TERV2021010100000000"),
    ];
    let decoded = vtj_format::codec::decode(&groups).unwrap();
    let [change] = decoded.changes.as_slice() else { panic!("{decoded:?}") };
    assert_eq!(change.tietoryhma, GroupName::Huoltaja);
    let guardians: Vec<&Huoltaja> = change
        .values()
        .map(|v| match v {
            GroupValue::Huoltaja(h) => h,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(guardians.len(), 2);
    assert_eq!(guardians[0].huoltaja.henkilotunnus, Some(Hetu::parse("010181-900C").unwrap()));
    assert_eq!(guardians[0].huoltajan_laji.as_deref(), Some(code::LAKISAATEINEN_HUOLTAJA));
    assert_eq!(guardians[0].huoltajan_rooli.as_deref(), Some(code::AITI));
    assert_eq!(guardians[0].huoltaja.sukunimi, None, "a real 305 names no one beyond the hetu");
    assert_eq!(guardians[1].huoltaja.henkilotunnus, None);
    assert_eq!(guardians[1].huoltaja.sukunimi.as_deref(), Some("Ulkomies Tes"));
    assert_eq!(guardians[1].huoltaja.etunimet.as_deref(), Some("Urho"));
    assert_eq!(guardians[1].huoltaja.sukupuoli, Some(Sex::Male));
    assert_eq!(guardians[1].huoltajan_rooli.as_deref(), Some(code::ISA));
    let rights = guardians[1].oikeudet.as_deref().unwrap();
    assert_eq!(rights.len(), 1);
    assert_eq!(rights[0].oikeus, "TERV");

    // The older layout of the shared sample files: surveyed, not misread.
    let old = raw("3051051172-928L03 1201701010000000000000000");
    assert_eq!(vtj_format::layout::split(&old).unwrap()[1], ("suhde", "03".to_string()));
    let err = vtj_format::codec::decode(&[old]).unwrap_err().to_string();
    assert!(err.contains("before December 2019"), "{err}");
    // A code the reader does not know is refused, not guessed.
    let err =
        vtj_format::codec::decode(&[raw(&format!("3051010181-900C19{}", tail("20210101")))]).unwrap_err().to_string();
    assert!(err.contains("huoltajanRooli code \"9\""), "{err}");
}
