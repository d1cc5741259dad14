//! Hands out unused test-range hetus (individual numbers 900-999).
//!
//! Per birth date and sex there are 50 numbers for each century sign, so
//! 300 slots a day with the 2023 signs; when a day is full the next day is
//! used, which shifts a synthetic birthday by a day at most in practice.

use std::collections::HashMap;

use time::Date;
use vtj_core::hetu::century_signs;
use vtj_core::{Hetu, Sex};

#[derive(Default)]
pub struct HetuAllocator {
    next_slot: HashMap<(Date, bool), u16>,
}

impl HetuAllocator {
    /// The next free hetu for someone born on `birth` (or soon after).
    /// `taken` says whether a candidate is already in use elsewhere.
    pub fn allocate<E>(
        &mut self,
        mut birth: Date,
        sex: Sex,
        mut taken: impl FnMut(Hetu) -> Result<bool, E>,
    ) -> Result<Hetu, E> {
        let male = sex == Sex::Male;
        loop {
            let signs = century_signs(birth.year());
            let slots = signs.len() as u16 * 50;
            let slot = self.next_slot.entry((birth, male)).or_insert(0);
            while *slot < slots {
                let sign = signs[usize::from(*slot / 50)];
                let individual = 900 + (*slot % 50) * 2 + u16::from(male);
                *slot += 1;
                if let Ok(h) = Hetu::from_parts(birth, sign, individual) {
                    if !taken(h)? {
                        return Ok(h);
                    }
                }
            }
            birth = birth.next_day().unwrap_or(birth);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn unique_test_range_with_right_sex_and_date() {
        let mut a = HetuAllocator::default();
        let day = Date::from_calendar_date(1990, time::Month::May, 5).unwrap();
        let mut seen = HashSet::new();
        for i in 0..700 {
            let sex = if i % 2 == 0 { Sex::Male } else { Sex::Female };
            let h = a.allocate(day, sex, |_| Ok::<_, ()>(false)).unwrap();
            assert!(h.is_test_range());
            assert_eq!(h.sex(), sex);
            assert!(seen.insert(h), "duplicate {h}");
            // 300 per sex fit on the day itself; the rest spill over.
            assert!(h.birth_date() >= day);
        }
        assert_eq!(seen.iter().filter(|h| h.birth_date() == day).count(), 600);
    }

    #[test]
    fn skips_taken() {
        let mut a = HetuAllocator::default();
        let day = Date::from_calendar_date(2024, time::Month::May, 5).unwrap();
        let first = HetuAllocator::default().allocate(day, Sex::Female, |_| Ok::<_, ()>(false)).unwrap();
        let h = a.allocate(day, Sex::Female, |h| Ok::<_, ()>(h == first)).unwrap();
        assert_ne!(h, first);
    }
}
