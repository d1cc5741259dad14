//! Families in a generated population: within each batch of persons, the
//! married are paired into couples who share a home, children are given a
//! mother (and mostly a father) of their municipality and live with her,
//! a few children are in the social welfare board's custody, a few couples
//! are registered partners. Relations are made by the core's `family`
//! events, so they are two-sided by the same rules as the simulator's.
//! Deterministic (its own random stream) and bounded by the batch.

use std::collections::HashMap;

use time::Date;
use vtj_core::family;
use vtj_core::groups::*;
use vtj_core::{Event, GroupName, GroupValue, KuntaCode, Person, PersonId, Sex};

use crate::rng::Rng;

fn age(p: &Person, today: Date) -> i64 {
    (today - p.hetu().birth_date()).whole_days() / 365
}

fn status(p: &Person) -> Option<&str> {
    match p.group(GroupName::Siviilisaaty) {
        Some(GroupValue::Siviilisaaty(s)) => Some(s.siviilisaaty.as_str()),
        _ => None,
    }
}

/// Applies a family batch to the persons of a generation batch: all of it,
/// or (should the core refuse any part) none of it.
fn apply(batch: &mut [Person], at: &HashMap<PersonId, usize>, events: &[Event]) -> bool {
    let mut next: HashMap<PersonId, Person> = HashMap::new();
    for e in events {
        let Some(&i) = at.get(&e.person) else { return false };
        let before = next.get(&e.person).cloned().unwrap_or_else(|| batch[i].clone());
        match vtj_core::apply(Some(&before), e) {
            Ok(after) => next.insert(e.person, after),
            Err(_) => return false,
        };
    }
    for (id, p) in next {
        batch[at[&id]] = p;
    }
    true
}

/// The home groups a person moving in with `host` takes over.
const HOME: [GroupName; 4] = [
    GroupName::VakinainenKotimainenOsoite,
    GroupName::VakinainenKotimainenAsuinpaikkatunnus,
    GroupName::Kotikunta,
    GroupName::Vaestokirjanpitokunta,
];

fn move_in(batch: &mut [Person], who: usize, host: usize) {
    for g in HOME {
        let values = batch[host].instances(g).to_vec();
        batch[who].tietoryhmat.set_all(g, values);
    }
    // One household, one protection: a shared address would reveal it.
    if let Some(tk) = batch[host].group(GroupName::Turvakielto).cloned() {
        batch[who].tietoryhmat.set(tk);
    } else if let Some(tk) = batch[who].group(GroupName::Turvakielto).cloned() {
        batch[host].tietoryhmat.set(tk);
    }
}

pub fn link(rng: &mut Rng, batch: &mut [Person], today: Date) {
    let at: HashMap<PersonId, usize> = batch.iter().enumerate().map(|(i, p)| (p.id, i)).collect();
    let mut by_kunta: HashMap<KuntaCode, Vec<usize>> = HashMap::new();
    for (i, p) in batch.iter().enumerate() {
        if let Some(k) = p.kotikunta().filter(|k| k.is_municipality()) {
            by_kunta.entry(k).or_default().push(i);
        }
    }
    let mut kunnat: Vec<KuntaCode> = by_kunta.keys().copied().collect();
    kunnat.sort_unstable();
    for k in kunnat {
        let people = &by_kunta[&k];
        couples(rng, batch, &at, people, today);
        children(rng, batch, &at, people, today);
    }
}

fn couples(rng: &mut Rng, batch: &mut [Person], at: &HashMap<PersonId, usize>, people: &[usize], today: Date) {
    let married = |sex: Sex| -> Vec<usize> {
        let mut v: Vec<usize> = people
            .iter()
            .copied()
            .filter(|&i| batch[i].hetu().sex() == sex && status(&batch[i]) == Some(code::AVIOLIITOSSA))
            .collect();
        v.sort_by_key(|&i| batch[i].hetu().birth_date());
        v
    };
    let (wives, husbands) = (married(Sex::Female), married(Sex::Male));
    let mut husbands = husbands.into_iter().peekable();
    for w in wives {
        // The next husband within twelve years of her age, in age order.
        while husbands.peek().is_some_and(|&h| {
            batch[h].hetu().birth_date() < batch[w].hetu().birth_date() - time::Duration::days(12 * 365)
        }) {
            if let Some(h) = husbands.next() {
                batch[h]
                    .tietoryhmat
                    .set(GroupValue::Siviilisaaty(Siviilisaaty { siviilisaaty: code::NAIMATON.into() }));
            }
        }
        let Some(h) = husbands
            .next_if(|&h| (batch[h].hetu().birth_date() - batch[w].hetu().birth_date()).whole_days().abs() <= 12 * 365)
        else {
            batch[w].tietoryhmat.set(GroupValue::Siviilisaaty(Siviilisaaty { siviilisaaty: code::NAIMATON.into() }));
            continue;
        };
        let younger = age(&batch[w], today).min(age(&batch[h], today));
        let years_ago = rng.below((younger - 19).max(1) as u64) as i64;
        let vihkipv = today - time::Duration::days(years_ago * 365 + rng.below(365) as i64 + 1);
        let tapa = if rng.chance(0.4) { code::KIRKOLLINEN_VIHKIMINEN } else { code::SIVIILIVIHKIMINEN };
        let events = family::marriage(&batch[w], &batch[h], tapa, vihkipv);
        if apply(batch, at, &events) {
            move_in(batch, h, w);
        }
    }
    for h in husbands {
        batch[h].tietoryhmat.set(GroupValue::Siviilisaaty(Siviilisaaty { siviilisaaty: code::NAIMATON.into() }));
    }
    // A few registered partnerships, in force since before 2017.
    let singles: Vec<usize> = people
        .iter()
        .copied()
        .filter(|&i| status(&batch[i]) == Some(code::NAIMATON) && age(&batch[i], today) >= 30)
        .collect();
    for pair in singles.chunks(2) {
        if let [a, b] = *pair {
            if batch[a].hetu().sex() == batch[b].hetu().sex() && rng.chance(0.01) {
                let since =
                    Date::from_calendar_date(2003 + rng.below(14) as i32, time::Month::June, 1).unwrap_or(today);
                let events = family::partnership(&batch[a], &batch[b], since);
                if apply(batch, at, &events) {
                    move_in(batch, b, a);
                }
            }
        }
    }
}

fn children(rng: &mut Rng, batch: &mut [Person], at: &HashMap<PersonId, usize>, people: &[usize], today: Date) {
    let women: Vec<usize> = people.iter().copied().filter(|&i| batch[i].hetu().sex() == Sex::Female).collect();
    let men: Vec<usize> = people.iter().copied().filter(|&i| batch[i].hetu().sex() == Sex::Male).collect();
    let kids: Vec<usize> = people.iter().copied().filter(|&i| age(&batch[i], today) < 18).collect();
    for c in kids {
        let born = batch[c].hetu().birth_date();
        let years = |i: usize| (born - batch[i].hetu().birth_date()).whole_days() / 365;
        // A few random tries among the municipality's women or men.
        let pick = |rng: &mut Rng, from: &[usize], range: std::ops::RangeInclusive<i64>| -> Option<usize> {
            if from.is_empty() {
                return None;
            }
            (0..24).map(|_| from[rng.below(from.len() as u64) as usize]).find(|&i| range.contains(&years(i)))
        };
        let Some(mother) = pick(rng, &women, 20..=42) else { continue };
        let husband = family::spouse(&batch[mother]).and_then(|h| men.iter().copied().find(|&i| batch[i].hetu() == h));
        let father = match husband {
            Some(h) if years(h) >= 18 => Some(h),
            _ if rng.chance(0.7) => pick(rng, &men, 20..=50),
            _ => None,
        };
        let events = family::parents(&batch[c], &batch[mother], father.map(|f| &batch[f]), born);
        if !apply(batch, at, &events) {
            continue;
        }
        move_in(batch, c, mother);
        if rng.chance(0.003) {
            let guardians: Vec<Person> = std::iter::once(mother).chain(father).map(|i| batch[i].clone()).collect();
            let events = family::custody_ends(
                &batch[c],
                &guardians,
                true,
                today - time::Duration::days(rng.below(700) as i64 + 1),
            );
            apply(batch, at, &events);
        }
    }
}
