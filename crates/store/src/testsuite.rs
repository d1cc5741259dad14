//! Behaviour every [`Store`] backend must have. Each backend's tests call
//! [`run_all`] with a factory of fresh, empty stores.

use std::collections::BTreeSet;

use time::{Date, Month};
use vtj_core::groups::{Kotikunta, Nimi, Sukupuoli};
use vtj_core::permit::{Product, Scope, TurvakieltoRule};
use vtj_core::{Event, EventKind, GroupName, GroupValue, Hetu, KuntaCode, Permit, Person, PersonId, Sex, VtjDate};

use crate::{Access, ApiUser, Appended, AuditLog, AuditRecord, Cursor, PersonFilter, Recipient, Store, StoreError};

pub fn day(n: i64) -> Date {
    Date::from_calendar_date(2026, Month::January, 1).expect("valid") + time::Duration::days(n)
}

pub fn test_hetu(n: u16) -> Hetu {
    let birth =
        Date::from_calendar_date(1970, Month::January, 1).expect("valid") + time::Duration::days(i64::from(n / 100));
    Hetu::from_parts(birth, '-', 900 + n % 100).expect("test-range hetu")
}

pub fn birth(id: u64, hetu: Hetu, kunta: &str, date: i64) -> Event {
    Event {
        person: PersonId(id),
        rekisterointipaiva: day(date),
        tapahtuma: EventKind::Birth {
            henkilotunnus: hetu,
            ryhmat: vec![
                GroupValue::HenkilonNimi(Nimi::new(&format!("Testi{id}"), "Testinen", Some(VtjDate::Full(day(date))))),
                GroupValue::Sukupuoli(Sukupuoli { sukupuoli: Sex::Female }),
                GroupValue::Kotikunta(Kotikunta {
                    kuntakoodi: KuntaCode::parse(kunta).expect("known code"),
                    kuntaan_muuttopv: Some(VtjDate::Full(day(date))),
                }),
            ],
        },
    }
}

fn event(id: u64, date: i64, tapahtuma: EventKind) -> Event {
    Event { person: PersonId(id), rekisterointipaiva: day(date), tapahtuma }
}

fn permit(tunnus: &str) -> Permit {
    Permit {
        tunnus: tunnus.into(),
        luvansaaja: "TESTI".into(),
        kayttotarkoitus: "testi".into(),
        tuote: Product::builtin("ASREK").expect("builtin"),
        rajaus: Scope::Hetulista,
        turvakielto: TurvakieltoRule::TiedotSensuroidaan,
        voimassa_alkaen: day(0),
        voimassa_asti: None,
        peruttu: false,
        ylalupa: None,
    }
}

pub fn run_all<S: Store + Access + AuditLog>(fresh: impl Fn() -> S) {
    recipients_users_and_certificates(&mut fresh());
    audit_chain_appends_verifies_and_prunes(&mut fresh());
    audit_tree_checkpoints_and_proofs_survive_pruning(&mut fresh());
    audit_entries_appended_together_are_each_as_if_alone(&mut fresh());
    cursors_increase_and_pages_see_each_change_once(&mut fresh());
    failed_batch_commits_nothing(&mut fresh());
    long_batches_commit_whole_or_not_at_all(&mut fresh());
    log_keeps_both_sides_of_each_change(&mut fresh());
    hetu_correction_keeps_old_hetu_findable(&mut fresh());
    hetu_cannot_belong_to_two_persons(&mut fresh());
    population_only_before_the_log(&mut fresh());
    hetu_lists(&mut fresh());
    cursor_for_a_date(&mut fresh());
    persons_filtered_and_paged(&mut fresh());
    permits_and_meta(&mut fresh());
    meta_moves_with_its_events(&mut fresh());
    relations_commit_two_sided_or_not_at_all(&mut fresh());
    mirrors_hold_what_upstream_gave(&mut fresh());
    an_epoch_starts_above_every_cursor(&mut fresh());
}

/// A new epoch: the next cursor is its base + 1, the newest cursor is the
/// base until then, and a base not above every cursor is refused.
pub fn an_epoch_starts_above_every_cursor<S: Store>(s: &mut S) {
    s.append(&[birth(1, test_hetu(1), "091", 0)]).unwrap();
    assert_eq!(s.last_cursor().unwrap(), Cursor(1));
    assert!(matches!(s.begin_epoch(1), Err(StoreError::Refused(_))));
    s.begin_epoch(5_000_000).unwrap();
    assert_eq!(s.last_cursor().unwrap(), Cursor(5_000_000), "the base, before the epoch's first change");
    assert_eq!(s.meta(crate::EPOCH_BASE).unwrap().as_deref(), Some("5000000"));
    let c = s.append(&[birth(2, test_hetu(2), "091", 1)]).unwrap();
    assert_eq!(c, vec![Cursor(5_000_001)]);
    assert_eq!(
        s.changes_since(Cursor(1), 10).unwrap().iter().map(|e| e.cursor).collect::<Vec<_>>(),
        [Cursor(5_000_001)]
    );
    assert!(s.begin_epoch(5_000_001).is_err());
    s.begin_epoch(9_000_000).unwrap();
    assert_eq!(s.append(&[birth(3, test_hetu(3), "091", 1)]).unwrap(), vec![Cursor(9_000_001)]);
}

/// A county hub's persons: whatever upstream gave (a guardian outside its
/// scope named one-sidedly, no sex or home municipality), replaced whole
/// by each mirror, moved to a corrected hetu, emptied when upstream no
/// longer gives them; the hetu rules still hold.
pub fn mirrors_hold_what_upstream_gave<S: Store>(s: &mut S) {
    use vtj_core::groups::{Huoltaja, RelatedPerson};
    let mirror = |id, hetu, ryhmat| event(id, 1, EventKind::Mirrored { henkilotunnus: hetu, ryhmat });
    let name = GroupValue::HenkilonNimi(Nimi::new("Peili", "Testinen", None));
    let guardian = GroupValue::Huoltaja(Huoltaja {
        huoltaja: RelatedPerson::named(test_hetu(90), "Huoltaja", "Testinen"),
        huoltajan_laji: None,
        huoltajan_rooli: None,
        huoltosuhteen_alkupv: None,
        huoltosuhteen_loppupv: None,
        oikeudet: None,
    });
    let (old, new) = (test_hetu(1), test_hetu(2));
    s.append(&[mirror(1, old, vec![name.clone(), guardian])]).unwrap();
    assert_eq!(s.person(PersonId(1)).unwrap().unwrap().tietoryhmat.len(), 2, "the one-sided guardian is kept");

    s.append(&[mirror(1, new, vec![name.clone()])]).unwrap();
    for h in [old, new] {
        let p = s.person_by_hetu(h).unwrap().unwrap_or_else(|| panic!("{h} finds the mirrored person"));
        assert_eq!((p.id, p.hetu(), p.tietoryhmat.len()), (PersonId(1), new, 1));
    }
    let last = s.changes_since(Cursor(0), 10).unwrap().pop().unwrap();
    assert_eq!(last.before.map(|b| b.hetu()), Some(old), "the log keeps the hetu the change came under");

    s.append(&[mirror(2, test_hetu(3), vec![name.clone()])]).unwrap();
    let before = s.last_cursor().unwrap();
    assert!(matches!(s.append(&[mirror(2, new, vec![name])]), Err(StoreError::HetuInUse(h)) if h == new));
    assert_eq!(s.last_cursor().unwrap(), before);

    s.append(&[mirror(1, new, vec![])]).unwrap();
    let gone = s.person(PersonId(1)).unwrap().unwrap();
    assert!(gone.tietoryhmat.is_empty() && !vtj_core::hub::held(&gone));
}

/// A family batch commits; the same batch missing one side is refused
/// whole, naming the event; a later hetu correction reaches the relatives;
/// a later batch is checked against relatives it does not change.
pub fn relations_commit_two_sided_or_not_at_all<S: Store>(s: &mut S) {
    s.append(&[birth(1, test_hetu(2), "091", 0), birth(2, test_hetu(5), "091", 0)]).unwrap();
    let mother = s.person(PersonId(1)).unwrap().unwrap();
    let father_hetu = Hetu::from_parts(day(0) - time::Duration::days(13000), '-', 901).expect("test hetu");
    s.append(&[birth(3, father_hetu, "091", 0)]).unwrap();
    let father = s.person(PersonId(3)).unwrap().unwrap();
    let child_hetu = Hetu::from_parts(day(1), 'A', 902).expect("test hetu");
    let child_groups = vec![
        GroupValue::HenkilonNimi(Nimi::new("Vauva", "Testinen", None)),
        GroupValue::Sukupuoli(Sukupuoli { sukupuoli: Sex::Female }),
        GroupValue::Kotikunta(Kotikunta {
            kuntakoodi: KuntaCode::parse("091").expect("known"),
            kuntaan_muuttopv: None,
        }),
    ];
    let batch = vtj_core::family::birth(PersonId(4), child_hetu, child_groups.clone(), &mother, Some(&father), day(1));
    assert_eq!(batch.len(), 3);
    let cursor = s.last_cursor().unwrap();
    for skip in 0..batch.len() {
        let partial: Vec<Event> =
            batch.iter().enumerate().filter(|(i, _)| *i != skip).map(|(_, e)| e.clone()).collect();
        match s.append(&partial) {
            Err(StoreError::Event { source: vtj_core::EventError::Relation(_), .. }) => {}
            other => panic!("without event {skip} the batch must be refused for its relations, got {other:?}"),
        }
        assert_eq!(s.last_cursor().unwrap(), cursor);
        assert_eq!(s.person(PersonId(1)).unwrap().as_ref(), Some(&mother));
    }
    s.append(&batch).unwrap();
    let child = s.person(PersonId(4)).unwrap().unwrap();
    assert_eq!(child.instances(GroupName::Huoltaja).len(), 2);
    assert_eq!(s.person(PersonId(1)).unwrap().unwrap().instances(GroupName::Huollettava).len(), 1);
    // The child's hetu is corrected: both parents' records follow.
    let uusi = Hetu::from_parts(day(1), 'A', 904).expect("test hetu");
    let parents = [s.person(PersonId(1)).unwrap().unwrap(), s.person(PersonId(3)).unwrap().unwrap()];
    let fix = vtj_core::family::hetu_correction(&child, &parents, uusi, day(2));
    assert_eq!(fix.len(), 3);
    assert!(s.append(&fix[..2]).is_err(), "a parent left naming the old hetu");
    s.append(&fix).unwrap();
    for id in [1, 3] {
        let p = s.person(PersonId(id)).unwrap().unwrap();
        let named: Vec<_> = vtj_core::relations::links(&p).iter().map(|l| l.other).collect();
        assert_eq!(named, vec![uusi; 3], "LAPSI, HUOLLETTAVA and PERHESUHDE of parent {id}");
    }
    // A second child: the parents' first child, outside this batch, is read
    // to see that they still hold their side of the relations kept.
    let [mother, father] = [1, 3].map(|id| s.person(PersonId(id)).unwrap().unwrap());
    let second = Hetu::from_parts(day(3), 'A', 906).expect("test hetu");
    s.append(&vtj_core::family::birth(PersonId(5), second, child_groups, &mother, Some(&father), day(3))).unwrap();
    let mother = s.person(PersonId(1)).unwrap().unwrap();
    assert_eq!(mother.instances(GroupName::Huollettava).len(), 2);
}

pub fn meta_moves_with_its_events<S: Store>(s: &mut S) {
    s.append_with_meta(&[birth(1, test_hetu(1), "091", 0)], &[("day", "1")]).unwrap();
    assert_eq!(s.meta("day").unwrap().as_deref(), Some("1"));
    // A rejected batch (the person exists) leaves the meta entry as it was.
    let again = s.append_with_meta(&[birth(1, test_hetu(2), "091", 1)], &[("day", "2")]);
    assert!(again.is_err());
    assert_eq!(s.meta("day").unwrap().as_deref(), Some("1"));
}

pub fn cursors_increase_and_pages_see_each_change_once<S: Store>(s: &mut S) {
    assert_eq!(s.last_cursor().unwrap(), Cursor(0));
    let mut all = Vec::new();
    for i in 0..25u64 {
        all.extend(s.append(&[birth(i + 1, test_hetu(i as u16), "091", i as i64)]).unwrap());
    }
    all.extend(
        s.append(
            &(1..=10)
                .map(|i| event(i, 30, EventKind::TurvakieltoStart { turva_loppu_pv: VtjDate::Indefinite }))
                .collect::<Vec<_>>(),
        )
        .unwrap(),
    );
    assert!(all.windows(2).all(|w| w[0] < w[1]), "cursors strictly increase: {all:?}");
    assert_eq!(s.last_cursor().unwrap(), *all.last().unwrap());
    let mut seen = Vec::new();
    let mut at = Cursor(0);
    loop {
        let page = s.changes_since(at, 7).unwrap();
        if page.is_empty() {
            break;
        }
        assert!(page.len() <= 7);
        at = page.last().unwrap().cursor;
        seen.extend(page.into_iter().map(|e| e.cursor));
    }
    assert_eq!(seen, all);
}

pub fn failed_batch_commits_nothing<S: Store>(s: &mut S) {
    s.append(&[birth(1, test_hetu(1), "091", 0)]).unwrap();
    let before_cursor = s.last_cursor().unwrap();
    let before_person = s.person(PersonId(1)).unwrap();
    let batch = [
        event(1, 1, EventKind::TurvakieltoStart { turva_loppu_pv: VtjDate::Indefinite }),
        birth(2, test_hetu(2), "049", 1),
        // Ending a turvakielto twice: the second is invalid.
        event(1, 1, EventKind::TurvakieltoEnd),
        event(1, 1, EventKind::TurvakieltoEnd),
    ];
    match s.append(&batch) {
        Err(StoreError::Event { index: 3, .. }) => {}
        other => panic!("expected event 3 rejected, got {other:?}"),
    }
    assert_eq!(s.last_cursor().unwrap(), before_cursor);
    assert_eq!(s.person(PersonId(1)).unwrap(), before_person);
    assert_eq!(s.person(PersonId(2)).unwrap(), None);
    assert!(!s.hetu_exists(test_hetu(2)).unwrap());
    let next = s.append(&[birth(2, test_hetu(2), "049", 1)]).unwrap();
    assert!(next[0] > before_cursor);
    assert!(matches!(s.append(&[birth(2, test_hetu(3), "049", 1)]), Err(StoreError::Event { index: 0, .. })));
}

/// A batch longer than a backend's unit of work (PostgreSQL inserts log
/// rows a chunk at a time while it makes the next) is still one: a person
/// changed in two chunks is logged state after state, in the events'
/// order, and a batch refused near its end leaves nothing behind.
pub fn long_batches_commit_whole_or_not_at_all<S: Store>(s: &mut S) {
    const N: u64 = 1300;
    let births: Vec<Event> = (1..=N).map(|i| birth(i, test_hetu(i as u16), "091", 0)).collect();
    s.append(&births).unwrap();
    let start = |i| event(i, 1, EventKind::TurvakieltoStart { turva_loppu_pv: VtjDate::Indefinite });
    let end = |i| event(i, 2, EventKind::TurvakieltoEnd);
    let from = s.last_cursor().unwrap();
    let batch: Vec<Event> = (1..=N).map(start).chain((1..=N).map(end)).collect();
    let cursors = s.append(&batch).unwrap();
    assert_eq!(cursors.len(), batch.len());
    let log = s.changes_since(from, 2 * N as usize + 1).unwrap();
    assert_eq!(log.iter().map(|e| e.cursor).collect::<Vec<_>>(), cursors);
    assert!(log.iter().zip(&batch).all(|(logged, sent)| logged.event == *sent), "logged in the batch's order");
    for i in 0..N as usize {
        let (started, ended) = (&log[i], &log[N as usize + i]);
        assert!(started.after.has_turvakielto() && !ended.after.has_turvakielto());
        assert_eq!(ended.before.as_ref(), Some(&started.after), "person {}", i + 1);
        assert_eq!(s.person(started.event.person).unwrap().as_ref(), Some(&ended.after));
    }
    // Refused at its last event, or at its last person's hetu.
    let last = s.last_cursor().unwrap();
    let person = s.person(PersonId(1)).unwrap();
    let mut refused = batch.clone();
    refused.push(end(1));
    match s.append(&refused) {
        Err(StoreError::Event { index, .. }) if index == refused.len() - 1 => {}
        other => panic!("expected the last event refused, got {other:?}"),
    }
    let mut twins: Vec<Event> = (N + 1..=2 * N).map(|i| birth(i, test_hetu(i as u16), "091", 3)).collect();
    twins.push(birth(2 * N + 1, test_hetu(1), "091", 3));
    assert!(matches!(s.append(&twins), Err(StoreError::HetuInUse(h)) if h == test_hetu(1)));
    assert_eq!(s.last_cursor().unwrap(), last);
    assert_eq!(s.person(PersonId(1)).unwrap(), person);
    assert_eq!(s.person(PersonId(N + 1)).unwrap(), None);
    assert!(!s.hetu_exists(test_hetu(N as u16 + 1)).unwrap());
}

pub fn log_keeps_both_sides_of_each_change<S: Store>(s: &mut S) {
    s.append(&[birth(1, test_hetu(1), "091", 0)]).unwrap();
    s.append(&[event(1, 1, EventKind::TurvakieltoStart { turva_loppu_pv: VtjDate::Indefinite })]).unwrap();
    let log = s.changes_since(Cursor(0), 10).unwrap();
    assert_eq!(log.len(), 2);
    assert_eq!(log[0].before, None);
    assert_eq!(log[1].before.as_ref(), Some(&log[0].after));
    assert!(log[1].after.has_turvakielto());
    assert_eq!(s.person(PersonId(1)).unwrap().as_ref(), Some(&log[1].after));
    // Within one batch too, each change's before is the change before it.
    s.append(&[
        event(1, 1, EventKind::TurvakieltoEnd),
        birth(2, test_hetu(2), "091", 0),
        event(1, 2, EventKind::Death { kuolinpv: VtjDate::Full(day(2)) }),
    ])
    .unwrap();
    let log = s.changes_since(log[1].cursor, 10).unwrap();
    assert_eq!(log.len(), 3);
    assert!(log[0].cursor < log[1].cursor && log[1].cursor < log[2].cursor);
    let ids: Vec<PersonId> = log.iter().map(|e| e.event.person).collect();
    assert_eq!(ids, [PersonId(1), PersonId(2), PersonId(1)]);
    assert_eq!(log[2].before.as_ref(), Some(&log[0].after));
    assert_eq!(s.person(PersonId(1)).unwrap().as_ref(), Some(&log[2].after));
    summaries_tell_what_each_change_changed(s);
}

/// Every entry's stored summary is the one its persons give, read in the
/// same order and pages, and [`Store::change`] finds each entry by cursor.
pub fn summaries_tell_what_each_change_changed<S: Store>(s: &mut S) {
    let log = s.changes_since(Cursor(0), 100).unwrap();
    assert!(log.len() > 3, "the suite's log is the test's data");
    let mut read = Vec::new();
    let mut at = Cursor(0);
    loop {
        let page = s.summaries_since(at, 2).unwrap();
        let Some(last) = page.last() else { break };
        at = last.cursor;
        read.extend(page);
    }
    assert_eq!(read.len(), log.len());
    for (summary, entry) in read.iter().zip(&log) {
        assert_eq!(summary.cursor, entry.cursor);
        assert_eq!(summary.registered, entry.event.rekisterointipaiva);
        let code = entry.event.tapahtuma.code();
        assert_eq!(summary.delta, vtj_core::Delta::of(entry.before.as_ref(), &entry.after, code));
        assert_eq!(s.change(entry.cursor).unwrap().as_ref(), Some(entry));
    }
    assert!(read.iter().any(|c| !c.delta.groups().is_empty()), "the changes change groups");
    let past = Cursor(s.last_cursor().unwrap().0 + 1);
    assert_eq!(s.change(past).unwrap(), None);
    assert!(s.summaries_since(past, 10).unwrap().is_empty());
}

pub fn hetu_correction_keeps_old_hetu_findable<S: Store>(s: &mut S) {
    let (old, new) = (test_hetu(1), test_hetu(500));
    s.append(&[birth(1, old, "091", 0)]).unwrap();
    s.append(&[event(1, 1, EventKind::HetuCorrection { uusi_henkilotunnus: new })]).unwrap();
    let p = s.person_by_hetu(new).unwrap().expect("found by new hetu");
    assert_eq!(p.hetu(), new);
    assert_eq!(s.person_by_hetu(old).unwrap().map(|p| p.id), Some(PersonId(1)));
    assert_eq!(p.all_hetus(), vec![new, old]);
    // Corrected twice in one batch: every hetu finds the person.
    let (third, fourth) = (test_hetu(501), test_hetu(502));
    s.append(&[
        event(1, 1, EventKind::HetuCorrection { uusi_henkilotunnus: third }),
        event(1, 1, EventKind::HetuCorrection { uusi_henkilotunnus: fourth }),
    ])
    .unwrap();
    for h in [old, new, third, fourth] {
        assert_eq!(s.person_by_hetu(h).unwrap().map(|p| (p.id, p.hetu())), Some((PersonId(1), fourth)), "{h}");
    }
    let ids = s.person_ids(&[old, new, test_hetu(77)]).unwrap();
    assert_eq!((ids.get(&old), ids.get(&new), ids.len()), (Some(&PersonId(1)), Some(&PersonId(1)), 2));
}

pub fn hetu_cannot_belong_to_two_persons<S: Store>(s: &mut S) {
    s.append(&[birth(1, test_hetu(1), "091", 0)]).unwrap();
    s.append(&[birth(2, test_hetu(2), "091", 0)]).unwrap();
    let last = s.last_cursor().unwrap();
    assert!(matches!(s.append(&[birth(3, test_hetu(1), "091", 0)]), Err(StoreError::HetuInUse(_))));
    let steal = event(2, 1, EventKind::HetuCorrection { uusi_henkilotunnus: test_hetu(1) });
    assert!(matches!(s.append(&[steal]), Err(StoreError::HetuInUse(_))));
    // Two persons of one batch cannot take the same hetu either.
    let twins = [birth(3, test_hetu(3), "091", 0), birth(4, test_hetu(3), "091", 0)];
    assert!(matches!(s.append(&twins), Err(StoreError::HetuInUse(h)) if h == test_hetu(3)));
    assert_eq!(s.last_cursor().unwrap(), last);
    assert_eq!(s.person(PersonId(2)).unwrap().unwrap().hetu(), test_hetu(2));
}

pub fn population_only_before_the_log<S: Store>(s: &mut S) {
    let people: Vec<Person> =
        (1..=3u64).map(|i| vtj_core::apply(None, &birth(i, test_hetu(i as u16), "179", 0)).unwrap()).collect();
    s.insert_population(&people).unwrap();
    assert_eq!(s.person_count().unwrap(), 3);
    assert_eq!(s.max_person_id().unwrap(), PersonId(3));
    assert_eq!(s.last_cursor().unwrap(), Cursor(0), "a baseline makes no log entries");
    assert!(matches!(s.insert_population(&people[..1]), Err(StoreError::PersonExists(PersonId(1)))));
    let same_hetu = vtj_core::apply(None, &birth(9, test_hetu(2), "179", 0)).unwrap();
    assert!(matches!(s.insert_population(&[same_hetu]), Err(StoreError::HetuInUse(h)) if h == test_hetu(2)));
    let twin = |id| vtj_core::apply(None, &birth(id, test_hetu(8), "179", 0)).unwrap();
    assert!(matches!(s.insert_population(&[twin(10), twin(11)]), Err(StoreError::HetuInUse(h)) if h == test_hetu(8)));
    let again = vtj_core::apply(None, &birth(12, test_hetu(12), "179", 0)).unwrap();
    assert!(matches!(s.insert_population(&[again.clone(), again]), Err(StoreError::PersonExists(PersonId(12)))));
    assert_eq!(s.person_count().unwrap(), 3, "a refused batch leaves nothing behind");
    s.append(&[birth(4, test_hetu(4), "179", 1)]).unwrap();
    let more = vtj_core::apply(None, &birth(5, test_hetu(5), "179", 0)).unwrap();
    assert!(matches!(s.insert_population(&[more]), Err(StoreError::LogNotEmpty)));
}

pub fn hetu_lists<S: Store>(s: &mut S) {
    assert!(matches!(s.hetu_list_add("EI", &[test_hetu(1)]), Err(StoreError::UnknownPermit(_))));
    s.put_permit(&permit("L1")).unwrap();
    s.append(&[birth(1, test_hetu(1), "091", 0), birth(2, test_hetu(2), "091", 0)]).unwrap();
    assert_eq!(s.hetu_list_add("L1", &[test_hetu(1), test_hetu(1), test_hetu(3)]).unwrap(), 2);
    assert!(s.on_hetu_list("L1", PersonId(1)).unwrap());
    assert!(!s.on_hetu_list("L1", PersonId(2)).unwrap());
    // The person stays on the list after their hetu is corrected.
    s.append(&[event(1, 1, EventKind::HetuCorrection { uusi_henkilotunnus: test_hetu(700) })]).unwrap();
    assert!(s.on_hetu_list("L1", PersonId(1)).unwrap());
    assert_eq!(s.hetu_list("L1").unwrap(), vec![test_hetu(1), test_hetu(3)]);
    assert_eq!(s.hetu_list_remove("L1", &[test_hetu(1), test_hetu(2)]).unwrap(), 1);
    assert!(!s.on_hetu_list("L1", PersonId(1)).unwrap());
}

pub fn cursor_for_a_date<S: Store>(s: &mut S) {
    assert_eq!(s.cursor_at(day(5)).unwrap(), Cursor(0));
    let c: Vec<Cursor> =
        (0..5).map(|d| s.append(&[birth(d as u64 + 1, test_hetu(d), "091", i64::from(d) * 2)]).unwrap()[0]).collect();
    // Births on days 0, 2, 4, 6, 8.
    assert_eq!(s.cursor_at(day(-1)).unwrap(), Cursor(c[0].0 - 1));
    assert_eq!(s.cursor_at(day(4)).unwrap(), c[2]);
    assert_eq!(s.cursor_at(day(5)).unwrap(), c[2]);
    assert_eq!(s.cursor_at(day(100)).unwrap(), c[4]);
}

pub fn persons_filtered_and_paged<S: Store>(s: &mut S) {
    let kunnat = ["091", "179", "091", "049", "091", "200"];
    let people: Vec<Person> = kunnat
        .iter()
        .enumerate()
        .map(|(i, k)| vtj_core::apply(None, &birth(i as u64 + 1, test_hetu(i as u16), k, 0)).unwrap())
        .collect();
    s.insert_population(&people).unwrap();
    let hki: BTreeSet<KuntaCode> = [KuntaCode::parse("091").unwrap()].into();
    let ids = |v: Vec<Person>| v.into_iter().map(|p| p.id.0).collect::<Vec<_>>();
    assert_eq!(ids(s.persons(PersonFilter::Kunnat(&hki), PersonId(0), 10).unwrap()), vec![1, 3, 5]);
    assert_eq!(ids(s.persons(PersonFilter::Kunnat(&hki), PersonId(1), 1).unwrap()), vec![3]);
    // Most of the country: a store may read it another way, with the same answer.
    let jyvaskyla = KuntaCode::parse("179").unwrap();
    let wide: BTreeSet<KuntaCode> =
        vtj_core::kunta::kunnat().iter().map(|k| k.code).filter(|c| *c != jyvaskyla).collect();
    assert!(vtj_core::kunta::resident_share(&wide) > 0.9 && vtj_core::kunta::resident_share(&hki) < 0.2);
    assert_eq!(ids(s.persons(PersonFilter::Kunnat(&wide), PersonId(0), 10).unwrap()), vec![1, 3, 4, 5]);
    assert_eq!(ids(s.persons(PersonFilter::Kunnat(&wide), PersonId(3), 2).unwrap()), vec![4, 5]);
    assert_eq!(ids(s.persons(PersonFilter::All, PersonId(4), 10).unwrap()), vec![5, 6]);
    assert!(s.persons(PersonFilter::Kunnat(&BTreeSet::new()), PersonId(0), 10).unwrap().is_empty());
    assert!(s.persons(PersonFilter::Turvakielto, PersonId(0), 10).unwrap().is_empty());
    for id in [2, 5] {
        s.append(&[event(id, 1, EventKind::TurvakieltoStart { turva_loppu_pv: VtjDate::Indefinite })]).unwrap();
    }
    assert_eq!(ids(s.persons(PersonFilter::Turvakielto, PersonId(0), 10).unwrap()), vec![2, 5]);
    assert_eq!(ids(s.persons(PersonFilter::Turvakielto, PersonId(2), 10).unwrap()), vec![5]);
    assert_eq!(s.summary().unwrap().turvakielto_in_force, 2);
}

pub fn permits_and_meta<S: Store>(s: &mut S) {
    assert_eq!(s.permit("L1").unwrap(), None);
    let mut p = permit("L1");
    s.put_permit(&p).unwrap();
    p.peruttu = true;
    s.put_permit(&p).unwrap();
    s.put_permit(&permit("L0")).unwrap();
    assert_eq!(s.permit("L1").unwrap(), Some(p));
    assert_eq!(s.permits().unwrap().iter().map(|p| p.tunnus.as_str()).collect::<Vec<_>>(), vec!["L0", "L1"]);
    assert_eq!(s.meta("x").unwrap(), None);
    s.set_meta("x", "1").unwrap();
    s.set_meta("x", "2").unwrap();
    assert_eq!(s.meta("x").unwrap().as_deref(), Some("2"));
}

pub fn recipients_users_and_certificates<S: Store + Access>(s: &mut S) {
    let r = Recipient { tunnus: "0201256-6".into(), nimi: "Testikunta".into() };
    s.put_recipient(&r).unwrap();
    s.put_recipient(&Recipient { tunnus: "B".into(), nimi: "Toinen".into() }).unwrap();
    assert_eq!(s.recipient(&r.tunnus).unwrap(), Some(r.clone()));
    assert_eq!(s.recipients().unwrap().len(), 2);
    let user = |name: &str, permit: &str| ApiUser {
        name: name.into(),
        permit: permit.into(),
        password_hash: format!("$argon2id$test${name}"),
        revoked: false,
    };
    assert!(matches!(s.add_user(&user("u1", "L1")), Err(StoreError::UnknownPermit(_))));
    s.put_permit(&permit("L1")).unwrap();
    s.put_permit(&permit("L2")).unwrap();
    s.add_user(&user("u1", "L1")).unwrap();
    s.add_user(&user("u2", "L1")).unwrap();
    s.add_user(&user("u3", "L2")).unwrap();
    assert!(matches!(s.add_user(&user("u1", "L2")), Err(StoreError::UserExists(_))));
    assert_eq!(s.user("u1").unwrap(), Some(user("u1", "L1")));
    assert_eq!(s.user("nobody").unwrap(), None);
    assert_eq!(s.users().unwrap().len(), 3);

    s.add_user_cert("u1", "h1").unwrap();
    s.add_user_cert("u3", "h3").unwrap();
    assert!(s.add_user_cert("u2", "h1").is_err(), "a certificate belongs to one user");
    assert!(matches!(s.add_user_cert("nobody", "h9"), Err(StoreError::UnknownUser(_))));
    assert_eq!(s.cert_user("h1").unwrap().as_deref(), Some("u1"));
    assert_eq!(s.cert_user("nope").unwrap(), None);

    assert!(s.revoke_user("u1").unwrap());
    assert!(!s.revoke_user("u1").unwrap(), "revoking twice changes nothing");
    assert!(s.user("u1").unwrap().unwrap().revoked);
    assert_eq!(s.cert_user("h1").unwrap(), None, "a revoked user's certificates go with it");
    assert_eq!(s.cert_user("h3").unwrap().as_deref(), Some("u3"));
    assert!(matches!(s.add_user(&user("u1", "L1")), Err(StoreError::UserExists(_))), "names are never reused");
    assert!(matches!(s.add_user_cert("u1", "h5"), Err(StoreError::UnknownUser(_))));
}

pub fn audit_record(at: &str, n: usize) -> AuditRecord {
    AuditRecord {
        at: at.into(),
        recipient: Some("R".into()),
        permit: Some("L".into()),
        purpose: Some("testi".into()),
        action: format!("GET /test/{n}"),
        hetus: vec![test_hetu(n as u16).to_string()],
        groups: vec!["HENKILON_NIMI".into()],
        status: 200,
        ..AuditRecord::default()
    }
}

pub fn audit_chain_appends_verifies_and_prunes<S: AuditLog>(s: &mut S) {
    let empty = s.audit_verify().unwrap();
    assert_eq!(empty.entries, 0);
    // Six entries older than five years, four recent ones.
    for n in 0..10 {
        let at = if n < 6 {
            format!("2015-01-0{}T00:00:00.000Z", n + 1)
        } else {
            format!("2026-01-0{}T00:00:00.000Z", n - 5)
        };
        assert_eq!(s.audit_append(&audit_record(&at, n), None).unwrap().seq, n as i64 + 1);
    }
    let report = s.audit_verify().unwrap();
    assert_eq!(report.entries, 10);
    assert_eq!(report.head.seq, 10);
    let first = s.audit_entries(0, 1).unwrap();
    let stored: AuditRecord = serde_json::from_str(&first[0].data).unwrap();
    assert_eq!(stored, audit_record("2015-01-01T00:00:00.000Z", 0));

    assert_eq!(s.audit_prune("2021-01-01T00:00:00.000Z").unwrap(), 6);
    assert_eq!(s.audit_prune("2021-01-01T00:00:00.000Z").unwrap(), 0);
    let after = s.audit_verify().unwrap();
    assert_eq!((after.entries, after.anchor.seq, after.head.seq), (4, 6, 10));
    // The chain continues from the pruned log.
    s.audit_append(&audit_record("2026-02-01T00:00:00.000Z", 11), None).unwrap();
    assert_eq!(s.audit_verify().unwrap().entries, 5);
}

/// A fixed key for tests: never a real service's.
pub fn test_signer() -> vtj_tlog::Signer {
    vtj_tlog::Signer::from_seed("vtj.test/audit", [42; 32]).expect("a valid name")
}

pub fn audit_tree_checkpoints_and_proofs_survive_pruning<S: AuditLog>(s: &mut S) {
    use vtj_tlog::tree::{leaf_hash, verify_consistency, verify_inclusion, MemoryTree};
    let signer = test_signer();
    let key = signer.verifier();
    let mut reference = MemoryTree::new();
    let mut held = Vec::new();
    for n in 0..21 {
        let at = if n < 13 {
            format!("2015-01-{:02}T00:00:00.000Z", n + 1)
        } else {
            format!("2026-01-{:02}T00:00:00.000Z", n)
        };
        let a = s.audit_append(&audit_record(&at, n), Some(&signer)).unwrap();
        let data = &s.audit_entries(a.seq - 1, 1).unwrap()[0].data;
        reference.push(leaf_hash(data.as_bytes()));
        // Each answer's checkpoint covers its own entry.
        let cp = key.open(a.checkpoint.as_deref().unwrap()).unwrap();
        assert_eq!((cp.size, cp.root), (a.seq as u64, vtj_tlog::tree::root(&mut reference, a.seq as u64).unwrap()));
        if n % 5 == 2 {
            held.push(a.checkpoint.unwrap());
        }
    }
    assert_eq!(s.audit_tree_size().unwrap(), 21);
    let report = vtj_tlog_verify(s, &key, &held);
    assert_eq!((report.leaves, report.entries_checked, report.checkpoints, report.held), (21, 21, 21, 4));

    // Proofs from the stored tree verify against the signed roots.
    let cp21 = key.open(&s.audit_latest_checkpoint().unwrap().unwrap()).unwrap();
    for seq in [1, 8, 13, 21] {
        let proof = s.audit_inclusion(seq, 21).unwrap();
        let data = &s.audit_entries(seq - 1, 1).unwrap()[0].data;
        verify_inclusion(&leaf_hash(data.as_bytes()), seq as u64 - 1, 21, &proof, &cp21.root).unwrap();
    }
    for h in &held {
        let old = key.open(h).unwrap();
        let proof = s.audit_consistency(old.size, 21).unwrap();
        verify_consistency(old.size, 21, &old.root, &cp21.root, &proof).unwrap();
    }
    assert!(matches!(s.audit_consistency(3, 22), Err(StoreError::Proof(_))));
    assert!(matches!(s.audit_inclusion(22, 21), Err(StoreError::Proof(_))));

    // Five years on: the entries go, the tree and the checkpoints stay.
    assert_eq!(s.audit_prune("2021-01-01T00:00:00.000Z").unwrap(), 13);
    let report = vtj_tlog_verify(s, &key, &held);
    assert_eq!((report.leaves, report.entries_checked, report.checkpoints, report.held), (21, 8, 21, 4));
    for h in &held {
        let old = key.open(h).unwrap();
        let proof = s.audit_consistency(old.size, 21).unwrap();
        verify_consistency(old.size, 21, &old.root, &cp21.root, &proof).unwrap();
    }
    let proof = s.audit_inclusion(17, 21).unwrap();
    let data = &s.audit_entries(16, 1).unwrap()[0].data;
    verify_inclusion(&leaf_hash(data.as_bytes()), 16, 21, &proof, &cp21.root).unwrap();
    // And the log goes on.
    let a = s.audit_append(&audit_record("2026-02-01T00:00:00.000Z", 30), Some(&signer)).unwrap();
    assert_eq!(key.open(a.checkpoint.as_deref().unwrap()).unwrap().size, 22);
    assert_eq!(vtj_tlog_verify(s, &key, &held).checkpoints, 22);

    // A checkpoint signed by another key, or over another history, is named.
    let other = vtj_tlog::Signer::from_seed("vtj.test/audit", [43; 32]).unwrap();
    let forged = other.sign(5, &[0; 32]);
    assert!(matches!(
        crate::tree::verify(s, Some(&key), &[forged]),
        Err(StoreError::TreeBroken(crate::TreeBreak::Foreign { n: 1, .. }))
    ));
    let mut other_history = held.clone();
    other_history.insert(1, signer.sign(9, &[7; 32]));
    assert!(matches!(
        crate::tree::verify(s, Some(&key), &other_history),
        Err(StoreError::TreeBroken(crate::TreeBreak::Held { n: 2, size: 9, .. }))
    ));
}

/// Entries of several requests committed at once: each is chained and a
/// leaf of the tree as if appended alone, in order, and all are given the
/// one checkpoint signed over the tree that holds the last of them.
pub fn audit_entries_appended_together_are_each_as_if_alone<S: AuditLog>(s: &mut S) {
    use vtj_tlog::tree::{leaf_hash, MemoryTree};
    let signer = test_signer();
    let key = signer.verifier();
    let at = |n: usize| format!("2026-03-{:02}T00:00:00.000Z", n + 1);
    for n in 0..3 {
        s.audit_append(&audit_record(&at(n), n), Some(&signer)).unwrap();
    }
    assert_eq!(s.audit_append_all(&[], Some(&signer)).unwrap(), []);
    let together: Vec<AuditRecord> = (3..8).map(|n| audit_record(&at(n), n)).collect();
    let appended = s.audit_append_all(&together, Some(&signer)).unwrap();
    assert_eq!(appended.iter().map(|a| a.seq).collect::<Vec<_>>(), [4, 5, 6, 7, 8]);
    let note = appended[0].checkpoint.clone().expect("signed");
    assert!(appended.iter().all(|a| a.checkpoint.as_deref() == Some(note.as_str())), "one checkpoint for all");
    let last = s.audit_append(&audit_record(&at(8), 8), Some(&signer)).unwrap();
    assert_eq!(last.seq, 9);

    let entries = s.audit_entries(0, 100).unwrap();
    let stored: Vec<AuditRecord> = entries.iter().map(|e| serde_json::from_str(&e.data).unwrap()).collect();
    assert_eq!(stored, (0..9).map(|n| audit_record(&at(n), n)).collect::<Vec<_>>());
    let mut reference = MemoryTree::new();
    for e in &entries {
        reference.push(leaf_hash(e.data.as_bytes()));
    }
    let cp = key.open(&note).unwrap();
    assert_eq!((cp.size, cp.root), (8, vtj_tlog::tree::root(&mut reference, 8).unwrap()));
    assert_eq!(s.audit_verify().unwrap().entries, 9);
    let report = vtj_tlog_verify(s, &key, &[note]);
    assert_eq!((report.leaves, report.entries_checked, report.checkpoints), (9, 9, 5));
    // Unsigned, the entries are appended all the same.
    let plain = s.audit_append_all(&[audit_record(&at(9), 9), audit_record(&at(10), 10)], None).unwrap();
    assert_eq!(plain, [Appended { seq: 10, checkpoint: None }, Appended { seq: 11, checkpoint: None }]);
    assert_eq!(s.audit_verify().unwrap().entries, 11);
}

fn vtj_tlog_verify<S: AuditLog>(s: &S, key: &vtj_tlog::Verifier, held: &[String]) -> crate::TreeReport {
    match crate::tree::verify(s, Some(key), held) {
        Ok(r) => r,
        Err(e) => panic!("the tree does not verify: {e}"),
    }
}

/// The insider's attack on a SQLite database, for tests: with every
/// trigger dropped, entry `seq` is made to hide the disclosure it recorded
/// (status 200 -> 404), the chain and its head are recomputed, and the tree
/// and checkpoints are dropped so that the program rebuilds the tree from
/// the rewritten entries on its next open (as for a log older than the
/// tree). Signing it again is the caller's part.
pub fn rewrite_audit_history(db: &std::path::Path, seq: i64) {
    use crate::audit::{chain_hash, ChainPoint};
    let raw = rusqlite::Connection::open(db).expect("open");
    raw.execute_batch(
        "DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_retention;
         DROP TRIGGER audit_tree_no_update; DROP TRIGGER audit_tree_no_delete;
         DROP TRIGGER audit_checkpoint_no_update; DROP TRIGGER audit_checkpoint_no_delete;",
    )
    .expect("drop triggers");
    let changed = raw
        .execute("UPDATE audit_log SET data = replace(data, '\"status\":200', '\"status\":404') WHERE seq = ?1", [seq])
        .expect("rewrite");
    assert_eq!(changed, 1, "entry #{seq} is not there to rewrite");
    let rows: Vec<(i64, String)> = raw
        .prepare("SELECT seq, data FROM audit_log ORDER BY seq")
        .and_then(|mut q| q.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect())
        .expect("read");
    let mut prev = ChainPoint::genesis().hash;
    for (n, data) in &rows {
        let hash = chain_hash(&prev, *n, data);
        raw.execute("UPDATE audit_log SET prev_hash = ?1, hash = ?2 WHERE seq = ?3", rusqlite::params![prev, hash, n])
            .expect("rechain");
        prev = hash;
    }
    let head = ChainPoint { seq: rows.last().map_or(0, |r| r.0), hash: prev };
    raw.execute("UPDATE meta SET value = ?1 WHERE key = 'audit.head'", [head.encode()]).expect("head");
    // Back to schema step 3, so that opening it builds the tree anew.
    raw.execute_batch(
        "DROP TABLE audit_tree; DROP TABLE audit_checkpoint; DROP TABLE change_summary;
         ALTER TABLE change_log DROP COLUMN delta;
         PRAGMA user_version = 3;",
    )
    .expect("tree");
}
