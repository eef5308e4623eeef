//! The backend's connection and row types and column decoding: the leaf
//! every other body module reads rows with.
//!
//! Owns decoding only; no queries, no transactions.

use sqlx::types::Json;
use sqlx::{Database, Decode, Row as _, Type};

use super::Db;
use crate::store::{Result, StoreError};

/// The backend's connection type.
pub(super) type Conn = <Db as Database>::Connection;
/// The backend's row type.
pub(super) type Row = <Db as Database>::Row;

/// Reads one column; a value that does not decode is corrupt data.
pub(super) fn get<'r, T>(row: &'r Row, column: &str) -> Result<T>
where
    T: Decode<'r, Db> + Type<Db>,
{
    row.try_get::<T, _>(column).map_err(|e| StoreError::Corrupt(format!("column `{column}`: {e}")))
}

/// Reads a JSON column.
pub(super) fn get_json<T>(row: &Row, column: &str) -> Result<T>
where
    T: serde::de::DeserializeOwned,
{
    Ok(get::<Json<T>>(row, column)?.0)
}
