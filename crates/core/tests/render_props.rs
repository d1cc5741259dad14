//! Property tests of `render` over random event histories and random permits,
//! directly and through a county hub (upstream permit -> hub -> sub-permit).

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;
use time::{Date, Month};
use vtj_core::groups::*;
use vtj_core::render::{visible, Visible};
use vtj_core::*;

const POOL: [&str; 5] = ["091", "049", "179", "837", "564"];

fn day(n: u32) -> Date {
    Date::from_calendar_date(2026, Month::January, 1).unwrap() + time::Duration::days(i64::from(n))
}

fn kunta(i: u8) -> Kotikunta {
    Kotikunta {
        kuntakoodi: KuntaCode::parse(POOL[usize::from(i) % POOL.len()]).unwrap(),
        kuntaan_muuttopv: Some(VtjDate::Year(2026)),
    }
}

fn osoite(i: u8) -> KotimainenOsoite {
    KotimainenOsoite {
        katunimi: Localized { fi: format!("Testikatu {i}"), sv: i.is_multiple_of(2).then(|| format!("Testgatan {i}")) },
        katunumero: (i % 40 + 1).to_string(),
        huoneistokirjain: i.is_multiple_of(3).then(|| "B".to_string()),
        huoneistonumero: i.is_multiple_of(4).then(|| format!("{i:03}")),
        jakokirjain: None,
        postinumero: format!("{:05}", u32::from(i) * 10),
        postitoimipaikka: Localized::fi("TESTILÄ"),
        rakennustunnus: None,
        osoitenumero: Some(1),
        kuntakoodi: None,
        alkupv: Some(VtjDate::Year(2026)),
    }
}

fn posti(i: u8) -> Postiosoite {
    Postiosoite {
        postiosoite: Localized::fi(format!("PL {i}")),
        postinumero: format!("{:05}", 100 + u32::from(i)),
        postitoimipaikka: Localized::fi("TESTILÄ"),
    }
}

fn ulko(i: u8) -> UlkomainenOsoite {
    UlkomainenOsoite {
        lahiosoite: format!("Testvägen {i}"),
        paikkakunta: "Teststad".into(),
        valtiokoodi: "752".into(),
        alkupv: Some(VtjDate::Year(2026)),
    }
}

fn ulkoposti(i: u8) -> UlkomainenPostiosoite {
    UlkomainenPostiosoite {
        postiosoite: format!("Box {i}"),
        postiosoite_lisarivi: None,
        postitoimipaikka: "Teststad".into(),
        valtiokoodi: "752".into(),
    }
}

fn hetu(i: u16) -> Hetu {
    Hetu::from_parts(Date::from_calendar_date(1980, Month::March, 3).unwrap(), '-', 900 + i % 100).unwrap()
}

fn birth(k: u8, a: u8) -> EventKind {
    EventKind::Birth {
        henkilotunnus: hetu(0),
        ryhmat: vec![
            GroupValue::HenkilonNimi(Nimi::new("Testi", "Testinen", Some(VtjDate::Year(1980)))),
            GroupValue::Sukupuoli(Sukupuoli { sukupuoli: Sex::Male }),
            GroupValue::Aidinkieli(Kieli::iso("fi")),
            GroupValue::Kotikunta(kunta(k)),
            GroupValue::VakinainenKotimainenOsoite(osoite(a)),
        ],
    }
}

/// Groups beyond the first model that events register: most reveal a
/// location (censored under turvakielto), two do not.
const WIDER: [GroupName; 9] = [
    GroupName::VakinainenKotimainenAsuinpaikkatunnus,
    GroupName::TilapainenKotimainenAsuinpaikkatunnus,
    GroupName::VakinainenOlinpaikassaAsuminen,
    GroupName::TilapainenUlkomaillaAsuminen,
    GroupName::Sahkopostiosoite,
    GroupName::TilapainenKunta,
    GroupName::VuodenvaihteenKunta,
    GroupName::Siviilisaaty,
    GroupName::EdellinenKotimainenAsuinpaikkatunnus,
];

fn wider(a: u8, b: u8) -> Vec<GroupValue> {
    let kunta = KuntaCode::parse(POOL[usize::from(b) % POOL.len()]).unwrap();
    let tunnus = |loppupv| Asuinpaikkatunnus {
        rakennustunnus: Some(format!("90000{a:03}{b:02}")),
        osoitenumero: Some(1),
        jakokirjain: None,
        huoneistonumero: Some(format!("{a:03}")),
        huoneistokirjain: None,
        kuntakoodi: Some(kunta.into()),
        alkupv: Some(VtjDate::Year(2026)),
        loppupv,
        asuinpaikantunnus: Some(format!("{a:03}{b:03}")),
    };
    let one = match WIDER[usize::from(a) % WIDER.len()] {
        GroupName::VakinainenKotimainenAsuinpaikkatunnus => {
            GroupValue::VakinainenKotimainenAsuinpaikkatunnus(tunnus(None))
        }
        GroupName::TilapainenKotimainenAsuinpaikkatunnus => {
            GroupValue::TilapainenKotimainenAsuinpaikkatunnus(tunnus(None))
        }
        GroupName::VakinainenOlinpaikassaAsuminen => GroupValue::VakinainenOlinpaikassaAsuminen(OlinpaikassaAsuminen {
            kuntakoodi: Some(kunta.into()),
            lajikoodi: Some(902),
            numero: Some(format!("{b:04}")),
            laitos: Some("0000".into()),
            alkupv: Some(VtjDate::Year(2026)),
            loppupv: None,
            asuinpaikantunnus: None,
        }),
        GroupName::TilapainenUlkomaillaAsuminen => GroupValue::TilapainenUlkomaillaAsuminen(UlkomaillaAsuminen {
            valtiokoodi: "752".into(),
            alkupv: Some(VtjDate::Year(2026)),
            loppupv: None,
            asuinpaikantunnus: None,
        }),
        GroupName::Sahkopostiosoite => GroupValue::Sahkopostiosoite(Sahkopostiosoite {
            sahkopostiosoite: format!("testi{a}.{b}@example.invalid"),
            lajikoodi: Some(99),
        }),
        GroupName::TilapainenKunta => GroupValue::TilapainenKunta(KuntaJakso {
            kuntakoodi: kunta.into(),
            kuntaan_muuttopv: Some(VtjDate::Year(2026)),
            kunnasta_pois_muuttopv: None,
        }),
        GroupName::VuodenvaihteenKunta => {
            GroupValue::VuodenvaihteenKunta(VuodenvaihteenKunta { kuntakoodi: kunta.into(), vuodenvaihde: 2025 })
        }
        GroupName::Siviilisaaty => GroupValue::Siviilisaaty(Siviilisaaty {
            siviilisaaty: if b.is_multiple_of(2) { code::NAIMATON } else { code::AVIOLIITOSSA }.into(),
        }),
        _ => GroupValue::EdellinenKotimainenAsuinpaikkatunnus(tunnus(Some(VtjDate::Year(2026)))),
    };
    vec![one]
}

/// One step of a history: a person event, or the recipient changing its hetu list.
#[derive(Debug, Clone)]
enum Step {
    Event(Box<EventKind>),
    ToggleList,
}

fn step(kind: u8, a: u8, b: u8) -> Step {
    let opt = |x: u8| (!b.is_multiple_of(3)).then_some(x);
    Step::Event(Box::new(match kind % 27 {
        0 => EventKind::MoveWithin { osoite: osoite(a) },
        1 | 2 => EventKind::MoveToMunicipality { osoite: osoite(a), kotikunta: kunta(b) },
        3 => EventKind::TemporaryAddress { osoite: opt(a).map(osoite) },
        4 => EventKind::PostalAddress { osoite: opt(a).map(posti) },
        5 => EventKind::ForeignPostalAddress { osoite: opt(a).map(ulkoposti) },
        6 => EventKind::TemporaryForeignAddress { osoite: opt(a).map(ulko) },
        7 => EventKind::MoveAbroad { osoite: ulko(a), kuntaan_muuttopv: VtjDate::Year(2026) },
        8 => EventKind::ReturnFromAbroad { osoite: osoite(a), kotikunta: kunta(b) },
        9 => EventKind::NameChange {
            nimi: Nimi::new(
                if b.is_multiple_of(2) { "Testi" } else { "Toinen" },
                &format!("Testi{a}"),
                Some(VtjDate::Year(2026)),
            ),
        },
        10 => EventKind::LanguageChange {
            aidinkieli: Some(if a.is_multiple_of(2) { Kieli::iso("sv") } else { Kieli::other("testikieli") }),
            asiointikieli: Some(AsiointikieliKoodi::Sv),
        },
        11 | 12 => EventKind::TurvakieltoStart {
            turva_loppu_pv: if a.is_multiple_of(2) { VtjDate::Indefinite } else { VtjDate::Year(2030) },
        },
        13 => EventKind::TurvakieltoExtension { turva_loppu_pv: VtjDate::Year(2035) },
        14 | 15 => EventKind::TurvakieltoEnd,
        16 => EventKind::ContactAddress { osoite: opt(a).map(posti) },
        17 => EventKind::ForeignContactAddress { osoite: opt(a).map(ulkoposti) },
        18 => EventKind::GuardianshipStart {
            edunvalvonta: Edunvalvonta {
                alkupv: VtjDate::Year(2026),
                toimintakelpoisuus_rajoitettu: a.is_multiple_of(2),
                edunvalvojat: vec![Edunvalvoja { henkilotunnus: Some(hetu(50)), nimi: "Valvoja Testi".into() }],
            },
        },
        19 => EventKind::GuardianshipEnd,
        20 => EventKind::HetuCorrection { uusi_henkilotunnus: hetu(1 + u16::from(a)) },
        21..=24 => EventKind::GroupsRegistered { ryhmat: wider(a, b), poistetut: Vec::new() },
        25 => EventKind::GroupsRegistered { ryhmat: Vec::new(), poistetut: vec![WIDER[usize::from(a) % WIDER.len()]] },
        _ => return Step::ToggleList,
    }))
}

fn arb_steps() -> impl Strategy<Value = Vec<Step>> {
    prop::collection::vec((any::<u8>(), any::<u8>(), any::<u8>()), 0..40)
        .prop_map(|v| v.into_iter().map(|(k, a, b)| step(k, a, b)).collect())
}

fn arb_permit() -> impl Strategy<Value = Permit> {
    (any::<u128>(), any::<bool>(), 0u8..32, any::<bool>(), any::<bool>()).prop_map(
        |(group_bits, hetu_list, kunta_bits, entitled, censorable_all)| {
            let mut groups: BTreeSet<GroupName> = GroupName::ALL
                .into_iter()
                .enumerate()
                .filter(|(i, _)| group_bits & (1 << i) != 0)
                .map(|(_, g)| g)
                .collect();
            if censorable_all {
                groups.extend(GroupName::CENSORED_UNDER_TURVAKIELTO);
            }
            let kunnat = POOL
                .iter()
                .enumerate()
                .filter(|(i, _)| kunta_bits & (1 << i) != 0)
                .map(|(_, k)| KuntaCode::parse(k).unwrap())
                .collect();
            Permit {
                tunnus: "L".into(),
                luvansaaja: "R".into(),
                kayttotarkoitus: "testi".into(),
                tuote: Product { tunnus: "P".into(), kuvaus: String::new(), tietoryhmat: groups },
                rajaus: if hetu_list { Scope::Hetulista } else { Scope::Kuntarajaus { kunnat } },
                turvakielto: if entitled {
                    TurvakieltoRule::TiedotLuovutetaan
                } else {
                    TurvakieltoRule::TiedotSensuroidaan
                },
                voimassa_alkaen: day(0),
                voimassa_asti: None,
                peruttu: false,
                ylalupa: None,
            }
        },
    )
}

/// What a recipient holds of one group: its instances, or a censor marker.
#[derive(Debug, Clone, PartialEq, Eq)]
enum HeldGroup {
    Values(Vec<GroupValue>),
    Marker,
}

/// The recipient's register of one person: what it holds per group.
type Held = BTreeMap<GroupName, HeldGroup>;

fn apply_disclosure(held: &mut Option<Held>, d: &Disclosure) {
    let changes = match d {
        Disclosure::Nothing => return,
        Disclosure::Enter(c) => {
            assert!(held.is_none(), "entered while already held");
            *held = Some(Held::new());
            c
        }
        Disclosure::Change(c) | Disclosure::Leave(c) => {
            assert!(held.is_some(), "a change for a person the recipient does not hold");
            c
        }
    };
    let h = held.as_mut().expect("set above");
    for c in changes {
        match c.muutos {
            ChangeKind::Added | ChangeKind::Changed => {
                assert!(!c.arvot.is_empty(), "added and changed carry their values");
                assert!(c.values().all(|v| v.name() == c.tietoryhma));
                if !c.tietoryhma.is_repeated() {
                    assert_eq!(c.arvot.len(), 1, "{} occurs once", c.tietoryhma);
                }
                h.insert(c.tietoryhma, HeldGroup::Values(c.values().cloned().collect()));
            }
            ChangeKind::Removed => {
                assert!(c.arvot.is_empty(), "a removal carries no value");
                h.remove(&c.tietoryhma);
            }
            ChangeKind::Censored => {
                assert!(c.arvot.is_empty(), "a censor marker carries no value");
                h.insert(c.tietoryhma, HeldGroup::Marker);
            }
        }
    }
    if matches!(d, Disclosure::Leave(_)) {
        *held = None;
    }
}

fn projection(permit: &Permit, s: Subject<'_>) -> Option<Held> {
    permit.in_scope(s).then(|| {
        visible(permit, s)
            .into_iter()
            .map(|(g, v)| match v {
                Visible::Values(v) => (g, HeldGroup::Values(v.to_vec())),
                Visible::Censored => (g, HeldGroup::Marker),
            })
            .collect()
    })
}

fn assert_no_leak(permit: &Permit, after: &Person, d: &Disclosure) {
    if permit.sees_turvakielto_data() {
        return;
    }
    for c in d.changes() {
        assert_ne!(
            c.tietoryhma,
            GroupName::Turvakielto,
            "the fact of a turvakielto went to a permit without the right"
        );
        if after.has_turvakielto() && c.tietoryhma.is_censored_under_turvakielto() {
            assert!(
                matches!(c.muutos, ChangeKind::Censored | ChangeKind::Removed),
                "{:?} sent under turvakielto",
                c.tietoryhma
            );
            assert!(c.arvot.is_empty());
        }
    }
}

/// A person leaving the recipient's scope: the recipient learns at most the
/// new home municipality's code, and only if it may see the home
/// municipality at all; never an address or a date from after the move.
fn assert_leave_says_no_more(permit: &Permit, before: &Person, after: &Person, d: &Disclosure) {
    let Disclosure::Leave(changes) = d else { return };
    if matches!(permit.rajaus, Scope::Hetulista) {
        // Off the list: every group held goes, with no value.
        let held: Vec<GroupName> = visible(permit, Subject { person: before, on_list: true }).into_keys().collect();
        let removed: Vec<GroupName> = changes.iter().map(|c| c.tietoryhma).collect();
        assert_eq!(removed, held, "a listed person leaving removes what was held");
        assert!(changes.iter().all(|c| c.muutos == ChangeKind::Removed && c.arvot.is_empty()), "{changes:?}");
        return;
    }
    assert!(changes.len() <= 1, "a leaving change carries {changes:?}");
    for c in changes {
        assert_eq!(c.tietoryhma, GroupName::Kotikunta, "{c:?} went with a leaving change");
        assert!(permit.tuote.tietoryhmat.contains(&GroupName::Kotikunta));
        assert!(!after.has_turvakielto() || permit.sees_turvakielto_data(), "a censored home municipality left");
        let [Instance { arvo: GroupValue::Kotikunta(k), .. }] = c.arvot.as_slice() else {
            panic!("a leaving change carries {c:?}")
        };
        assert_eq!(k.kuntaan_muuttopv, None, "the date of the move went with the leaving change");
        assert_eq!(Some(k.kuntakoodi), after.kotikunta());
        assert_ne!(Some(k.kuntakoodi), before.kotikunta());
    }
}

/// A change's stored summary reads back as written and renders, wherever
/// it renders at all, as `render` does from the whole persons; it declines
/// only when the person enters or leaves the scope or the recipient's
/// censoring of them starts or ends.
fn delta_agrees(
    permit: &Permit,
    before: Option<&Person>,
    after: &Person,
    code: u8,
    listed: bool,
    today: Date,
) -> Result<(), TestCaseError> {
    let d = Delta::of(before, after, code);
    let bytes = d.encode().map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(&Delta::decode(&bytes).map_err(|e| TestCaseError::fail(e.to_string()))?, &d);
    let b = before.map(|p| Subject::new(p, listed));
    let a = Subject::new(after, listed);
    let whole = render(permit, b, a, today);
    let censors = |p: &Person| p.has_turvakielto() && !permit.sees_turvakielto_data();
    let declines = match (b.is_some_and(|b| permit.in_scope(b)), permit.in_scope(a)) {
        (false, true) => before.is_some(),
        (true, false) => permit.rajaus == Scope::Hetulista,
        (true, true) => {
            before.is_some_and(censors)
                && !censors(after)
                && permit.tuote.tietoryhmat.iter().any(|g| g.is_censored_under_turvakielto())
        }
        (false, false) => false,
    };
    let must_answer = !permit.is_active(today) || !declines;
    match render_change(permit, &d, listed, today) {
        Some(fast) => prop_assert_eq!(fast, whole),
        None => prop_assert!(!must_answer, "declined a change it can answer: {:?}", whole),
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn register_built_from_disclosures_equals_projection(
        permit in arb_permit(),
        (k, a) in (any::<u8>(), any::<u8>()),
        start_on_list in any::<bool>(),
        steps in arb_steps(),
    ) {
        let mut today = 0;
        let first = Event { person: PersonId(1), rekisterointipaiva: day(today), tapahtuma: birth(k, a) };
        let mut person = apply(None, &first).unwrap();
        let mut on_list = start_on_list;
        let mut held = None;
        let d = render(&permit, None, Subject { person: &person, on_list }, day(today));
        assert_no_leak(&permit, &person, &d);
        delta_agrees(&permit, None, &person, first.tapahtuma.code(), on_list, day(today))?;
        apply_disclosure(&mut held, &d);
        prop_assert_eq!(&held, &projection(&permit, Subject { person: &person, on_list }));

        for s in steps {
            today += 1;
            let before = person.clone();
            let was_on_list = on_list;
            match &s {
                Step::Event(kind) => {
                    let ev = Event { person: PersonId(1), rekisterointipaiva: day(today), tapahtuma: (**kind).clone() };
                    match apply(Some(&person), &ev) {
                        Ok(p) => person = p,
                        Err(_) => continue,
                    }
                }
                Step::ToggleList => on_list = !on_list,
            }
            let b = Subject { person: &before, on_list: was_on_list };
            let now = Subject { person: &person, on_list };
            let d = render(&permit, Some(b), now, day(today));
            assert_no_leak(&permit, &person, &d);
            assert_leave_says_no_more(&permit, &before, &person, &d);
            if let Step::Event(kind) = &s {
                delta_agrees(&permit, Some(&before), &person, kind.code(), on_list, day(today))?;
                let summary = Delta::of(Some(&before), &person, kind.code());
                // The event name must not say what the censor markers hide.
                let label = event_label(&permit, Some(&before), &person, kind);
                prop_assert_eq!(vtj_core::label(&permit, summary.protected(), summary.event), label);
                if (before.has_turvakielto() || person.has_turvakielto()) && !permit.sees_turvakielto_data() {
                    prop_assert!(!label.starts_with("MUUTTO") && !label.starts_with("TURVAKIELTO")
                        && !label.contains("OSOITE") || label.contains("YHTEYSOSOITE"), "{} leaks", label);
                    prop_assert!(label != "PALUU_ULKOMAILTA");
                } else {
                    prop_assert_eq!(label, kind.wire_name());
                }
            }

            // Scope: nothing at all about a person out of scope before and after.
            if !permit.in_scope(b) && !permit.in_scope(now) {
                prop_assert_eq!(&d, &Disclosure::Nothing);
            }
            // Entering and leaving are announced as such.
            match (permit.in_scope(b), permit.in_scope(now)) {
                (false, true) => prop_assert!(matches!(d, Disclosure::Enter(_))),
                (true, false) => prop_assert!(matches!(d, Disclosure::Leave(_))),
                _ => prop_assert!(!matches!(d, Disclosure::Enter(_) | Disclosure::Leave(_))),
            }
            // When a turvakielto ends, the current values are sent again.
            if permit.in_scope(b) && permit.in_scope(now) && !permit.sees_turvakielto_data()
                && before.has_turvakielto() && !person.has_turvakielto()
            {
                for g in GroupName::CENSORED_UNDER_TURVAKIELTO {
                    let values = person.instances(g);
                    if permit.tuote.tietoryhmat.contains(&g) && !values.is_empty() {
                        let sent = d.changes().iter().any(|c| {
                            c.tietoryhma == g && c.muutos == ChangeKind::Added && c.values().eq(values.iter())
                        });
                        prop_assert!(sent, "{:?} not revealed at turvakielto end", g);
                    }
                }
            }
            apply_disclosure(&mut held, &d);
            prop_assert_eq!(&held, &projection(&permit, now));
            // The whole person, rendered from a copy given up: the same.
            prop_assert_eq!(
                render_full_owned(&permit, person.clone(), on_list, day(today)),
                render_full(&permit, Subject::new(&person, on_list), day(today))
            );
        }
    }

    #[test]
    fn changes_only_to_censored_groups_are_invisible(permit in arb_permit(), a in any::<u8>(), b in any::<u8>()) {
        let permit = Permit { turvakielto: TurvakieltoRule::TiedotSensuroidaan, ..permit };
        // A protected person moving inside the recipient's area must not
        // produce any output for a recipient without the right: not even an
        // empty change would be allowed, since its existence is a signal.
        let p0 = apply(None, &Event { person: PersonId(1), rekisterointipaiva: day(0), tapahtuma: birth(0, a) }).unwrap();
        let p1 = apply(Some(&p0), &Event { person: PersonId(1), rekisterointipaiva: day(1),
            tapahtuma: EventKind::TurvakieltoStart { turva_loppu_pv: VtjDate::Indefinite } }).unwrap();
        let p2 = apply(Some(&p1), &Event { person: PersonId(1), rekisterointipaiva: day(2),
            tapahtuma: EventKind::MoveWithin { osoite: osoite(a.wrapping_add(1 + b % 200)) } }).unwrap();
        let d = render(&permit, Some(Subject { person: &p1, on_list: true }), Subject { person: &p2, on_list: true }, day(2));
        prop_assert_eq!(d, Disclosure::Nothing);
    }
}

#[test]
fn revoked_or_expired_permit_receives_nothing() {
    let permit = Permit {
        tunnus: "L".into(),
        luvansaaja: "R".into(),
        kayttotarkoitus: "testi".into(),
        tuote: Product::builtin("LAAJAT").unwrap(),
        rajaus: Scope::Hetulista,
        turvakielto: TurvakieltoRule::TiedotLuovutetaan,
        voimassa_alkaen: day(0),
        voimassa_asti: Some(day(10)),
        peruttu: false,
        ylalupa: None,
    };
    let p = apply(None, &Event { person: PersonId(1), rekisterointipaiva: day(0), tapahtuma: birth(0, 0) }).unwrap();
    let s = Subject { person: &p, on_list: true };
    assert!(matches!(render(&permit, None, s, day(5)), Disclosure::Enter(_)));
    assert_eq!(render(&permit, None, s, day(11)), Disclosure::Nothing);
    let revoked = Permit { peruttu: true, ..permit };
    assert_eq!(render(&revoked, None, s, day(5)), Disclosure::Nothing);
    assert_eq!(render_full(&revoked, s, day(5)), None);
}

#[test]
fn turvakielto_start_sends_censor_markers_for_every_censorable_group() {
    let permit = Permit {
        tunnus: "L".into(),
        luvansaaja: "R".into(),
        kayttotarkoitus: "testi".into(),
        tuote: Product::builtin("ASREK").unwrap(),
        rajaus: Scope::Hetulista,
        turvakielto: TurvakieltoRule::TiedotSensuroidaan,
        voimassa_alkaen: day(0),
        voimassa_asti: None,
        peruttu: false,
        ylalupa: None,
    };
    let p0 = apply(None, &Event { person: PersonId(1), rekisterointipaiva: day(0), tapahtuma: birth(0, 0) }).unwrap();
    let ev = Event {
        person: PersonId(1),
        rekisterointipaiva: day(1),
        tapahtuma: EventKind::TurvakieltoStart { turva_loppu_pv: VtjDate::Indefinite },
    };
    let p1 = apply(Some(&p0), &ev).unwrap();
    let d =
        render(&permit, Some(Subject { person: &p0, on_list: true }), Subject { person: &p1, on_list: true }, day(1));
    let Disclosure::Change(changes) = d else { panic!("expected a change, got {d:?}") };
    let censored: Vec<GroupName> =
        changes.iter().filter(|c| c.muutos == ChangeKind::Censored).map(|c| c.tietoryhma).collect();
    let in_product: Vec<GroupName> =
        GroupName::CENSORED_UNDER_TURVAKIELTO.into_iter().filter(|g| permit.tuote.tietoryhmat.contains(g)).collect();
    assert_eq!(censored, in_product, "every censorable group of the product, whether or not the person has it");
    assert_eq!(changes.len(), censored.len(), "nothing but censor markers: {changes:?}");
    // The entitled recipient gets the turvakielto itself and nothing is censored.
    let entitled = Permit { turvakielto: TurvakieltoRule::TiedotLuovutetaan, ..permit };
    let d =
        render(&entitled, Some(Subject { person: &p0, on_list: true }), Subject { person: &p1, on_list: true }, day(1));
    assert_eq!(d.changes().len(), 1);
    assert_eq!(d.changes()[0].tietoryhma, GroupName::Turvakielto);
    assert_eq!(d.changes()[0].muutos, ChangeKind::Added);
}

#[test]
fn moving_out_of_the_area_discloses_only_the_new_municipality_code() {
    let kunnat: BTreeSet<KuntaCode> = [KuntaCode::parse("091").unwrap()].into_iter().collect();
    let permit = Permit {
        tunnus: "L".into(),
        luvansaaja: "R".into(),
        kayttotarkoitus: "testi".into(),
        tuote: Product::builtin("LAAJAT").unwrap(),
        rajaus: Scope::Kuntarajaus { kunnat },
        turvakielto: TurvakieltoRule::TiedotSensuroidaan,
        voimassa_alkaen: day(0),
        voimassa_asti: None,
        peruttu: false,
        ylalupa: None,
    };
    let p0 = apply(None, &Event { person: PersonId(1), rekisterointipaiva: day(0), tapahtuma: birth(0, 0) }).unwrap();
    let mv = EventKind::MoveToMunicipality { osoite: osoite(7), kotikunta: kunta(1) };
    let p1 = apply(Some(&p0), &Event { person: PersonId(1), rekisterointipaiva: day(1), tapahtuma: mv }).unwrap();
    let s = |p| Subject { person: p, on_list: false };
    let d = render(&permit, Some(s(&p0)), s(&p1), day(1));
    let expected =
        GroupValue::Kotikunta(Kotikunta { kuntakoodi: KuntaCode::parse("049").unwrap(), kuntaan_muuttopv: None });
    match &d {
        Disclosure::Leave(c) => {
            assert_eq!(c.len(), 1, "{c:?}");
            assert_eq!(c[0].values().collect::<Vec<_>>(), [&expected]);
        }
        other => panic!("expected a leaving change, got {other:?}"),
    }
}

// ---- Through a county hub: upstream permit -> hub -> sub-permit ----

/// An upstream permit a hub can follow (its product carries the name and
/// the corrections).
fn arb_upstream() -> impl Strategy<Value = Permit> {
    arb_permit().prop_map(|mut u| {
        u.tuote.tietoryhmat.extend([GroupName::HenkilonNimi, GroupName::HenkilotunnusKorjaus]);
        u
    })
}

/// A sub-permit carved out of `u` by `bits`: a subset of its groups, its
/// area or a part of it (or a hetu list), the turvakielto right only with
/// upstream's. Groups the hub could not censor are left out.
fn sub_permit(u: &Permit, (group_bits, kunta_bits, hetu_list, entitled): (u128, u8, bool, bool)) -> Permit {
    let mut groups: BTreeSet<GroupName> =
        u.tuote.tietoryhmat.iter().enumerate().filter(|(i, _)| group_bits & (1 << i) != 0).map(|(_, g)| *g).collect();
    let entitled = entitled && u.sees_turvakielto_data();
    if u.sees_turvakielto_data() && !entitled && !u.tuote.tietoryhmat.contains(&GroupName::Turvakielto) {
        groups.retain(|g| !g.is_censored_under_turvakielto());
    }
    if u.tuote.tietoryhmat.contains(&GroupName::HenkilotunnusKorjaus) {
        groups.insert(GroupName::HenkilotunnusKorjaus);
    }
    let pool: BTreeSet<KuntaCode> = POOL
        .iter()
        .enumerate()
        .filter(|(i, _)| kunta_bits & (1 << i) != 0)
        .map(|(_, k)| KuntaCode::parse(k).unwrap())
        .collect();
    let rajaus = match &u.rajaus {
        _ if hetu_list || !u.tuote.tietoryhmat.contains(&GroupName::Kotikunta) => Scope::Hetulista,
        Scope::Kuntarajaus { kunnat } => Scope::Kuntarajaus { kunnat: kunnat.intersection(&pool).copied().collect() },
        Scope::Hetulista => Scope::Kuntarajaus { kunnat: pool },
    };
    Permit {
        tunnus: "S".into(),
        luvansaaja: "R/sisainen".into(),
        kayttotarkoitus: "sisäinen".into(),
        tuote: Product { tunnus: "SP".into(), kuvaus: String::new(), tietoryhmat: groups },
        rajaus,
        turvakielto: if entitled { TurvakieltoRule::TiedotLuovutetaan } else { TurvakieltoRule::TiedotSensuroidaan },
        ..u.clone()
    }
}

fn seen(held: Option<Held>) -> Vec<(GroupName, hub::Seen)> {
    held.unwrap_or_default()
        .into_iter()
        .map(|(g, h)| match h {
            HeldGroup::Values(v) => (g, hub::Seen::Values(v)),
            HeldGroup::Marker => (g, hub::Seen::Censored),
        })
        .collect()
}

/// What an internal system under `sub` should hold of `p`, worked out from
/// the true person, not through the hub: nothing unless upstream gives the
/// person; nothing to a municipality-scoped system when upstream withholds
/// the home municipality (the hub cannot place them); else the
/// sub-permit's own projection.
fn through_hub(u: &Permit, sub: &Permit, p: &Person, u_list: bool, s_list: bool) -> Option<Held> {
    if !u.in_scope(Subject { person: p, on_list: u_list }) {
        return None;
    }
    let home_withheld = p.has_turvakielto() && !u.sees_turvakielto_data();
    if matches!(sub.rajaus, Scope::Kuntarajaus { .. }) && home_withheld {
        return None;
    }
    projection(sub, Subject { person: p, on_list: s_list })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1500, ..ProptestConfig::default() })]

    #[test]
    fn a_sub_permit_carved_from_upstream_is_accepted(u in arb_upstream(), bits in any::<(u128, u8, bool, bool)>()) {
        let sub = sub_permit(&u, bits);
        prop_assert_eq!(sub.check_narrows(&u), Ok(()));
        prop_assert_eq!(hub::check_upstream(&u), Ok(()));
    }

    /// Any permit the check accepts discloses, of any person in any state,
    /// nothing the upstream permit does not: no group upstream lacks, no
    /// value where upstream has none or censors. The candidates are carved
    /// from upstream and then perhaps widened: a group added, the right
    /// claimed, censorable groups kept that the hub could not censor.
    #[test]
    fn an_accepted_sub_permit_sees_only_what_upstream_sees(
        u in arb_permit(),
        bits in any::<(u128, u8, bool, bool)>(),
        (extra, right, censorable) in (prop::option::of(any::<usize>()), any::<bool>(), any::<bool>()),
        (k, a) in (any::<u8>(), any::<u8>()),
        steps in arb_steps(),
    ) {
        let mut sub = sub_permit(&u, bits);
        if let Some(i) = extra {
            sub.tuote.tietoryhmat.insert(GroupName::ALL[i % GroupName::ALL.len()]);
        }
        if right {
            sub.turvakielto = TurvakieltoRule::TiedotLuovutetaan;
        }
        if censorable {
            sub.tuote.tietoryhmat.extend(u.tuote.tietoryhmat.iter().filter(|g| g.is_censored_under_turvakielto()));
        }
        if sub.check_narrows(&u).is_err() {
            return Ok(());
        }
        let mut person = apply(None, &Event { person: PersonId(1), rekisterointipaiva: day(0), tapahtuma: birth(k, a) }).unwrap();
        for (i, s) in steps.iter().enumerate() {
            if let Step::Event(kind) = s {
                let ev = Event { person: PersonId(1), rekisterointipaiva: day(1 + i as u32), tapahtuma: (**kind).clone() };
                if let Ok(p) = apply(Some(&person), &ev) {
                    person = p;
                }
            }
            let subject = Subject { person: &person, on_list: true };
            let upstream = visible(&u, subject);
            for (g, v) in visible(&sub, subject) {
                match (v, upstream.get(&g)) {
                    // A marker carries nothing (every censorable group of a
                    // product is marked, held or not): the product decides.
                    (Visible::Censored, _) if u.tuote.tietoryhmat.contains(&g) => {}
                    (Visible::Values(mine), Some(Visible::Values(theirs))) => prop_assert_eq!(mine, *theirs),
                    (v, theirs) => prop_assert!(false, "{} is {:?} to the sub-permit, {:?} upstream", g, v, theirs),
                }
            }
        }
    }

    /// The hub's property: an internal system's register, built only from
    /// what `render` disclosed of the hub's persons (each the mirror of the
    /// upstream register), equals what the sub-permit should hold of the
    /// true person after every event, and holds no value upstream did not send.
    #[test]
    fn an_internal_register_equals_the_upstream_visible_projection(
        u in arb_upstream(),
        bits in any::<(u128, u8, bool, bool)>(),
        (k, a) in (any::<u8>(), any::<u8>()),
        (u_list0, s_list0) in any::<(bool, bool)>(),
        steps in arb_steps(),
    ) {
        let sub = sub_permit(&u, bits);
        let (mut u_list, mut s_list) = (u_list0, s_list0);
        let mirror_of = |p: &Person, u_list| {
            hub::mirror(p.id, p.hetu(), seen(projection(&u, Subject { person: p, on_list: u_list }))).unwrap()
        };
        let mut person = apply(None, &Event { person: PersonId(1), rekisterointipaiva: day(0), tapahtuma: birth(k, a) }).unwrap();
        let mut hub_person = mirror_of(&person, u_list);
        let mut held = None;
        apply_disclosure(&mut held, &render(&sub, None, Subject::new(&hub_person, s_list), day(0)));
        prop_assert_eq!(&held, &through_hub(&u, &sub, &person, u_list, s_list));

        for (i, s) in steps.iter().enumerate() {
            let today = day(1 + i as u32);
            let (was, was_listed) = (hub_person.clone(), s_list);
            match s {
                Step::Event(kind) => {
                    let ev = Event { person: PersonId(1), rekisterointipaiva: today, tapahtuma: (**kind).clone() };
                    match apply(Some(&person), &ev) {
                        Ok(p) => person = p,
                        Err(_) => continue,
                    }
                }
                Step::ToggleList if i % 2 == 0 => u_list = !u_list,
                Step::ToggleList => s_list = !s_list,
            }
            hub_person = mirror_of(&person, u_list);
            let d = render(&sub, Some(Subject::new(&was, was_listed)), Subject::new(&hub_person, s_list), today);
            if was_listed == s_list {
                delta_agrees(&sub, Some(&was), &hub_person, EventKind::Mirrored { henkilotunnus: hub_person.hetu(), ryhmat: Vec::new() }.code(), s_list, today)?;
            }
            apply_disclosure(&mut held, &d);
            prop_assert_eq!(&held, &through_hub(&u, &sub, &person, u_list, s_list));
            let upstream = projection(&u, Subject { person: &person, on_list: u_list }).unwrap_or_default();
            for (g, h) in held.iter().flatten() {
                if let HeldGroup::Values(v) = h {
                    prop_assert_eq!(upstream.get(g), Some(&HeldGroup::Values(v.clone())), "{} uncensored", g);
                }
            }
        }
    }
}

fn sample_permit(groups: &[GroupName], rajaus: Scope, turvakielto: TurvakieltoRule) -> Permit {
    Permit {
        tunnus: "L".into(),
        luvansaaja: "R".into(),
        kayttotarkoitus: "testi".into(),
        tuote: Product { tunnus: "P".into(), kuvaus: String::new(), tietoryhmat: groups.iter().copied().collect() },
        rajaus,
        turvakielto,
        voimassa_alkaen: day(10),
        voimassa_asti: Some(day(100)),
        peruttu: false,
        ylalupa: None,
    }
}

#[test]
fn a_sub_permit_that_widens_upstream_is_refused_with_every_reason() {
    use vtj_core::SubPermitError as E;
    let area =
        |codes: &[&str]| Scope::Kuntarajaus { kunnat: codes.iter().map(|k| KuntaCode::parse(k).unwrap()).collect() };
    let u = sample_permit(
        &[GroupName::HenkilonNimi, GroupName::Kotikunta, GroupName::VakinainenKotimainenOsoite],
        area(&["091", "049"]),
        TurvakieltoRule::TiedotSensuroidaan,
    );
    let wide = Permit {
        voimassa_alkaen: day(5),
        voimassa_asti: Some(day(200)),
        ..sample_permit(
            &[GroupName::HenkilonNimi, GroupName::Kotikunta, GroupName::Sukupuoli],
            area(&["091", "179"]),
            TurvakieltoRule::TiedotLuovutetaan,
        )
    };
    let errors = wide.check_narrows(&u).unwrap_err();
    assert_eq!(
        errors,
        vec![
            E::Groups { product: "P".into(), groups: vec![GroupName::Sukupuoli] },
            E::Municipalities(vec![KuntaCode::parse("179").unwrap()]),
            E::TurvakieltoRight,
            E::StartsEarlier { sub: day(5), upstream: day(10) },
            E::EndsLater { sub: day(200), upstream: day(100) },
        ]
    );
    assert!(errors[1].to_string().contains("179"), "{}", errors[1]);
    assert!(errors[0].to_string().contains("SUKUPUOLI"), "{}", errors[0]);

    // Nothing to narrow under a revoked permit.
    let ok = sample_permit(&[GroupName::HenkilonNimi], area(&["091"]), TurvakieltoRule::TiedotSensuroidaan);
    assert_eq!(ok.check_narrows(&u), Ok(()));
    assert_eq!(ok.check_narrows(&Permit { peruttu: true, ..u.clone() }), Err(vec![E::UpstreamRevoked("L".into())]));
    // No end date: ends with upstream.
    assert_eq!(Permit { voimassa_asti: None, ..ok.clone() }.check_narrows(&u), Ok(()));

    // Upstream without KOTIKUNTA: the hub cannot place anyone in a municipality.
    let no_home = sample_permit(&[GroupName::HenkilonNimi], Scope::Hetulista, TurvakieltoRule::TiedotSensuroidaan);
    assert_eq!(ok.check_narrows(&no_home), Err(vec![E::NoHomeMunicipality]));
    let listed = Permit { rajaus: Scope::Hetulista, ..ok.clone() };
    assert_eq!(listed.check_narrows(&no_home), Ok(()));

    // Upstream with the right but without TURVAKIELTO: the hub cannot tell
    // whom to censor for a system without the right.
    let entitled_blind = sample_permit(
        &[GroupName::HenkilonNimi, GroupName::VakinainenKotimainenOsoite, GroupName::Kotikunta],
        Scope::Hetulista,
        TurvakieltoRule::TiedotLuovutetaan,
    );
    let mut with_address = listed.clone();
    with_address.tuote.tietoryhmat.insert(GroupName::VakinainenKotimainenOsoite);
    let errors = with_address.check_narrows(&entitled_blind).unwrap_err();
    assert_eq!(errors, vec![E::CannotCensor(vec![GroupName::VakinainenKotimainenOsoite])]);
    assert_eq!(listed.check_narrows(&entitled_blind), Ok(()), "no censorable group, nothing to censor");

    // Upstream follows hetu corrections: so must every system under it.
    let mut correcting = u.clone();
    correcting.tuote.tietoryhmat.insert(GroupName::HenkilotunnusKorjaus);
    assert_eq!(ok.check_narrows(&correcting), Err(vec![E::NoCorrections]));
    let mut follows = ok.clone();
    follows.tuote.tietoryhmat.insert(GroupName::HenkilotunnusKorjaus);
    assert_eq!(follows.check_narrows(&correcting), Ok(()));
}

/// `p` held by another recipient for another purpose, perhaps under
/// another product's name and an upstream permit, and valid over other
/// days: everything a permit has besides what `PermitKind` names.
fn held_by_another(p: &Permit, (from, until, revoked, hub): (u32, Option<u32>, bool, bool)) -> Permit {
    Permit {
        tunnus: format!("{}-2", p.tunnus),
        luvansaaja: format!("{}-2", p.luvansaaja),
        kayttotarkoitus: "another purpose".into(),
        tuote: Product { tunnus: "Q".into(), kuvaus: "another product, same groups".into(), ..p.tuote.clone() },
        voimassa_alkaen: day(from),
        voimassa_asti: until.map(day),
        peruttu: revoked,
        ylalupa: hub.then(|| "UPSTREAM".into()),
        ..p.clone()
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    /// Two permits of one kind on a day receive the same of every change
    /// and every person that day, through every rendering (so a page made
    /// for one may be given to the other). The second permit is the first
    /// held by another, or another's rules as well; where the rules are
    /// the same only whether each is in force tells the two apart, so the
    /// kind holds nothing of who holds the permit or why.
    #[test]
    fn permits_of_one_kind_receive_the_same(
        permit in arb_permit(),
        other in (0u32..6, prop::option::of(0u32..45), prop::bool::weighted(0.2), any::<bool>()),
        other_rules in prop::option::weighted(0.5, (1u8..8, arb_permit())),
        (k, a) in (any::<u8>(), any::<u8>()),
        on_list in any::<bool>(),
        steps in arb_steps(),
    ) {
        let mut q = held_by_another(&permit, other);
        // Some of another's rules: all three would almost never make the same kind.
        if let Some((which, r)) = &other_rules {
            if which & 1 != 0 {
                q.tuote.tietoryhmat = r.tuote.tietoryhmat.clone();
            }
            if which & 2 != 0 {
                q.rajaus = r.rajaus.clone();
            }
            if which & 4 != 0 {
                q.turvakielto = r.turvakielto;
            }
        }
        let mut before: Option<Person> = None;
        let mut person = apply(None, &Event { person: PersonId(1), rekisterointipaiva: day(0), tapahtuma: birth(k, a) }).unwrap();
        let mut code = 0;
        for (i, s) in std::iter::once(None).chain(steps.iter().map(Some)).enumerate() {
            let today = day(i as u32);
            if let Some(Step::Event(kind)) = s {
                let ev = Event { person: PersonId(1), rekisterointipaiva: today, tapahtuma: (**kind).clone() };
                match apply(Some(&person), &ev) {
                    Ok(p) => {
                        before = Some(std::mem::replace(&mut person, p));
                        code = kind.code();
                    }
                    Err(_) => continue,
                }
            }
            let same = permit.kind(today) == q.kind(today);
            if other_rules.is_none() {
                prop_assert_eq!(same, permit.is_active(today) == q.is_active(today));
            }
            if !same {
                continue;
            }
            let b = before.as_ref().map(|p| Subject::new(p, on_list));
            let a = Subject::new(&person, on_list);
            prop_assert_eq!(render(&permit, b, a, today), render(&q, b, a, today));
            prop_assert_eq!(render_full(&permit, a, today), render_full(&q, a, today));
            let d = Delta::of(before.as_ref(), &person, code);
            prop_assert_eq!(render_change(&permit, &d, on_list, today), render_change(&q, &d, on_list, today));
            prop_assert_eq!(label(&permit, d.protected(), d.event), label(&q, d.protected(), d.event));
        }
    }
}
