//! Deferred writes of a write transaction: statements whose results nobody
//! reads (configuration and history rows, the revision bump when the
//! revision is already known, change log, audit events, notifications),
//! held until the transaction next reads or commits and then sent together.
//!
//! On Postgres ([`COMBINE_WRITES`]) a batch of several statements goes as
//! one statement — each write a data-modifying CTE, the notifications its
//! final `SELECT` — so a toggle's writes cost one round trip instead of
//! six (a large batch, say a panic of thousands of flags, goes in groups of
//! [`MAX_WRITES`] writes and at most [`MAX_ARGS`] values); on SQLite (in-process, no round trips) they run one by one in the
//! order deferred. Either way they run inside the same transaction, before
//! anything else it executes, so nothing can observe the deferral.
//!
//! Owns only the batching; the SQL comes from the callers. Must not depend
//! on `tx`, `lookup` or any area module (it sits below them).

use std::borrow::Cow;
use std::fmt::Write as _;

use sqlx::types::Json;

use super::row::Conn;
use super::{COMBINE_WRITES, Db};
use crate::store::Result;

/// One bound value of a deferred statement.
pub(super) enum Arg {
    Int(i64),
    OptInt(Option<i64>),
    Text(String),
    OptText(Option<String>),
    Bool(bool),
    Json(serde_json::Value),
    OptJson(Option<serde_json::Value>),
}

/// One deferred statement: SQL with `$1…$n` placeholders and its values.
pub(super) struct Deferred {
    pub sql: Cow<'static, str>,
    pub args: Vec<Arg>,
}

/// At most this many writes go in one combined statement (a panic of
/// thousands of flags goes in several, each a bounded shape)…
const MAX_WRITES: usize = 16;
/// …and at most this many values (Postgres allows 65,535 per statement).
const MAX_ARGS: usize = 2_048;

/// The statements a transaction deferred: writes (`INSERT`/`UPDATE`/
/// `DELETE` without `RETURNING`) and selects run for their side effect
/// (`pg_notify`).
#[derive(Default)]
pub(super) struct Batch {
    writes: Vec<Deferred>,
    selects: Vec<Deferred>,
}

type Query<'q> = sqlx::query::Query<'q, Db, <Db as sqlx::Database>::Arguments<'q>>;

fn bind(query: Query<'_>, arg: Arg) -> Query<'_> {
    match arg {
        Arg::Int(v) => query.bind(v),
        Arg::OptInt(v) => query.bind(v),
        Arg::Text(v) => query.bind(v),
        Arg::OptText(v) => query.bind(v),
        Arg::Bool(v) => query.bind(v),
        Arg::Json(v) => query.bind(Json(v)),
        Arg::OptJson(v) => query.bind(v.map(Json)),
    }
}

/// `sql` with every placeholder `$k` renumbered to `$(k + offset)`.
fn shifted(sql: &str, offset: usize, out: &mut String) {
    let mut rest = sql;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let digits = rest[at + 1..].bytes().take_while(u8::is_ascii_digit).count();
        match rest[at + 1..at + 1 + digits].parse::<usize>() {
            Ok(k) => write!(out, "${}", k + offset).expect("writing to a String"),
            Err(_) => out.push('$'),
        }
        rest = &rest[at + 1 + digits..];
    }
    out.push_str(rest);
}

/// One statement doing all of `writes` (as CTEs) and `selects` (as the
/// columns of its final `SELECT`), with their values in order.
fn combine(writes: Vec<Deferred>, selects: Vec<Deferred>) -> Deferred {
    debug_assert!(!writes.is_empty() || !selects.is_empty());
    let (mut sql, mut args, mut offset) = (String::new(), Vec::new(), 0);
    for (i, w) in writes.into_iter().enumerate() {
        let sep = if i == 0 { "WITH " } else { ", " };
        write!(sql, "{sep}w{i} AS (").expect("writing to a String");
        shifted(&w.sql, offset, &mut sql);
        sql.push(')');
        offset += w.args.len();
        args.extend(w.args);
    }
    sql.push_str(if sql.is_empty() { "SELECT " } else { " SELECT " });
    if selects.is_empty() {
        sql.push('1');
    }
    for (i, s) in selects.into_iter().enumerate() {
        if i > 0 {
            sql.push_str(", ");
        }
        shifted(&s.sql, offset, &mut sql);
        offset += s.args.len();
        args.extend(s.args);
    }
    Deferred { sql: Cow::Owned(sql), args }
}

async fn run(conn: &mut Conn, statement: Deferred) -> Result<()> {
    let query = statement.args.into_iter().fold(sqlx::query(&statement.sql), bind);
    query.execute(conn).await?;
    Ok(())
}

impl Batch {
    /// Defers a write.
    pub fn write(&mut self, sql: &'static str, args: Vec<Arg>) {
        self.writes.push(Deferred { sql: Cow::Borrowed(sql), args });
    }

    /// Defers a select run for its side effect (e.g. `pg_notify($1, $2)`,
    /// without the `SELECT`).
    pub fn select(&mut self, sql: &'static str, args: Vec<Arg>) {
        self.selects.push(Deferred { sql: Cow::Borrowed(sql), args });
    }

    /// Runs everything deferred (in one statement where the backend allows).
    pub async fn flush(&mut self, conn: &mut Conn) -> Result<()> {
        let (writes, selects) = (std::mem::take(&mut self.writes), std::mem::take(&mut self.selects));
        if COMBINE_WRITES {
            for (writes, selects) in chunks(writes, selects) {
                match (writes.len(), selects.len()) {
                    (1, 0) => run(conn, writes.into_iter().next().expect("one write")).await?,
                    _ => run(conn, combine(writes, selects)).await?,
                }
            }
            return Ok(());
        }
        for w in writes {
            run(conn, w).await?;
        }
        for s in selects {
            run(conn, Deferred { sql: Cow::Owned(format!("SELECT {}", s.sql)), args: s.args }).await?;
        }
        Ok(())
    }
}

/// The writes in groups of at most [`MAX_WRITES`] statements and about
/// [`MAX_ARGS`] values, in order; the selects go with the last group.
fn chunks(writes: Vec<Deferred>, selects: Vec<Deferred>) -> Vec<(Vec<Deferred>, Vec<Deferred>)> {
    let mut groups: Vec<(Vec<Deferred>, Vec<Deferred>)> = Vec::new();
    let mut args = 0;
    for w in writes {
        match groups.last_mut() {
            Some((group, _)) if group.len() < MAX_WRITES && args + w.args.len() <= MAX_ARGS => {
                args += w.args.len();
                group.push(w);
            }
            _ => {
                args = w.args.len();
                groups.push((vec![w], Vec::new()));
            }
        }
    }
    match groups.last_mut() {
        Some((_, last)) => *last = selects,
        None if !selects.is_empty() => groups.push((Vec::new(), selects)),
        None => {}
    }
    groups
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::{Arg, Deferred, MAX_WRITES, chunks, combine, shifted};

    #[test]
    fn placeholders_are_renumbered() {
        let mut out = String::new();
        shifted("UPDATE t SET a = $1, b = $12 WHERE c = '$' AND d = $2", 3, &mut out);
        assert_eq!(out, "UPDATE t SET a = $4, b = $15 WHERE c = '$' AND d = $5");
    }

    #[test]
    fn writes_become_ctes_and_selects_the_final_select() {
        let w = |sql: &'static str, n| Deferred { sql: Cow::Borrowed(sql), args: (0..n).map(Arg::Int).collect() };
        let one = combine(
            vec![w("INSERT INTO a VALUES ($1, $2)", 2), w("UPDATE b SET x = $1", 1)],
            vec![w("pg_notify($1, $2)", 2)],
        );
        assert_eq!(
            one.sql,
            "WITH w0 AS (INSERT INTO a VALUES ($1, $2)), w1 AS (UPDATE b SET x = $3) SELECT pg_notify($4, $5)"
        );
        assert_eq!(one.args.len(), 5);
    }

    #[test]
    fn large_batches_go_in_bounded_groups_with_the_selects_last() {
        let w = |n| Deferred { sql: Cow::Borrowed("UPDATE t SET a = $1"), args: (0..n).map(Arg::Int).collect() };
        let groups = chunks((0..40).map(|_| w(1)).collect(), vec![w(2)]);
        let sizes: Vec<(usize, usize)> = groups.iter().map(|(w, s)| (w.len(), s.len())).collect();
        assert_eq!(sizes, [(MAX_WRITES, 0), (MAX_WRITES, 0), (40 - 2 * MAX_WRITES, 1)]);
        let groups = chunks((0..3).map(|_| w(1_500)).collect(), Vec::new());
        assert_eq!(groups.len(), 3, "values per statement are bounded too");
        assert_eq!(chunks(Vec::new(), vec![w(2)]).len(), 1);
        assert!(chunks(Vec::new(), Vec::new()).is_empty());
    }
}
