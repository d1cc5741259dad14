//! A PostgreSQL connection that prepares each statement once.
//!
//! The client prepares a statement given as text anew at every call: one
//! round trip to parse and describe it, then one to run it. An audit
//! commit, a page of changes or a day's append is a handful of short
//! statements, so half their round trips, and the server's parsing, went
//! to preparing what had been prepared the call before. Here a statement
//! is prepared at its first use on a connection and kept, by its text,
//! until the connection closes. A statement prepared inside a transaction
//! that rolls back stays prepared (the server does not tie it to the
//! transaction).
//!
//! Only fixed texts (`&'static str`) are kept; a statement made with
//! `format!` goes to the client as before. So does a statement whose best
//! plan depends on its parameters' values (a date, a set of
//! municipalities): after five runs of a kept statement the server may
//! settle on one generic plan for any value, and for `MIN(cursor) WHERE
//! registered > $1` that plan can walk the whole log to find today.

use std::collections::hash_map::Entry;
use std::collections::HashMap;

use postgres::types::ToSql;
use postgres::{GenericClient, Row, Statement};

use crate::StoreError;

/// The statements prepared on one connection, by their text.
#[derive(Default)]
pub(crate) struct Prepared(HashMap<&'static str, Statement>);

/// A connection, or a transaction on it, with the statements prepared on it.
pub(crate) struct Conn<'a, C: GenericClient> {
    c: &'a mut C,
    prepared: &'a mut Prepared,
}

type Params<'p> = [&'p (dyn ToSql + Sync)];

impl<'a, C: GenericClient> Conn<'a, C> {
    /// `prepared` must hold only statements prepared on `c`'s connection.
    pub(crate) fn new(c: &'a mut C, prepared: &'a mut Prepared) -> Self {
        Conn { c, prepared }
    }

    /// The same connection for a shorter while, e.g. for a callee to own.
    pub(crate) fn reborrow(&mut self) -> Conn<'_, C> {
        Conn { c: &mut *self.c, prepared: &mut *self.prepared }
    }

    /// The client itself, for what is not kept: COPY, batches of
    /// statements, statements made with `format!` or planned for their values.
    pub(crate) fn client(&mut self) -> &mut C {
        self.c
    }

    fn statement(&mut self, sql: &'static str) -> Result<(&mut C, &Statement), StoreError> {
        let Conn { c, prepared } = self;
        let statement = match prepared.0.entry(sql) {
            Entry::Occupied(e) => e.into_mut(),
            Entry::Vacant(e) => e.insert(c.prepare(sql)?),
        };
        Ok((&mut **c, statement))
    }

    pub(crate) fn query(&mut self, sql: &'static str, params: &Params<'_>) -> Result<Vec<Row>, StoreError> {
        let (c, s) = self.statement(sql)?;
        Ok(c.query(s, params)?)
    }

    pub(crate) fn query_one(&mut self, sql: &'static str, params: &Params<'_>) -> Result<Row, StoreError> {
        let (c, s) = self.statement(sql)?;
        Ok(c.query_one(s, params)?)
    }

    pub(crate) fn query_opt(&mut self, sql: &'static str, params: &Params<'_>) -> Result<Option<Row>, StoreError> {
        let (c, s) = self.statement(sql)?;
        Ok(c.query_opt(s, params)?)
    }

    pub(crate) fn execute(&mut self, sql: &'static str, params: &Params<'_>) -> Result<u64, StoreError> {
        let (c, s) = self.statement(sql)?;
        Ok(c.execute(s, params)?)
    }
}
