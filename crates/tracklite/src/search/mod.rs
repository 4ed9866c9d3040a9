//! MLflow's search language for every entity, compiled to SQL over the
//! index.
//!
//! A filter is clauses joined by `AND`, such as
//! `metrics.accuracy > 0.9 AND params.optimizer = 'adam' AND tags."team name" ILIKE 'ml%'`;
//! an order_by clause is a field and a direction, such as
//! `metrics.\`f1 score\` DESC`. One pipeline serves every entity:
//! - [`lexer`] and [`parser`] read the text into raw clauses, and
//!   [`values`] turns written values into typed tests;
//! - one grammar file per entity says what each field accepts and gives
//!   the [`ast`] of a search: [`runs`], [`experiments`], [`logged_models`],
//!   and [`registry`] for registered models and model versions;
//! - [`sql`] compiles that into SQL (one builder; one file per entity),
//!   keeping the semantics (missing keys, NaN, LIKE case rules, NULLs last);
//! - [`page_token`] says how pages stay stable.

pub(crate) mod ast;
pub(crate) mod experiments;
pub(crate) mod lexer;
pub(crate) mod logged_models;
pub(crate) mod page_token;
pub(crate) mod parser;
pub(crate) mod registry;
pub(crate) mod runs;
pub(crate) mod sql;
pub(crate) mod values;

use crate::error::{Error, ValidationError};
use lexer::SyntaxError;

/// The number of results a search returns when the caller has no
/// preference, as in MLflow.
pub const SEARCH_MAX_RESULTS_DEFAULT: usize = 1000;
/// The most results one page may hold, as in MLflow.
pub const SEARCH_MAX_RESULTS_LIMIT: usize = 50_000;

fn invalid(what: &'static str, input: &str, e: SyntaxError) -> Error {
    Error::InvalidFilter {
        what,
        input: input.to_string(),
        position: e.pos,
        token: e.token,
        message: e.message,
    }
}

/// Checks a page size: 1 to [`SEARCH_MAX_RESULTS_LIMIT`].
pub(crate) fn check_max_results(max_results: usize) -> Result<(), ValidationError> {
    if (1..=SEARCH_MAX_RESULTS_LIMIT).contains(&max_results) {
        return Ok(());
    }
    Err(ValidationError::InvalidValue {
        field: "max_results",
        value: max_results.to_string(),
        rule: format!("it must be a positive integer of at most {SEARCH_MAX_RESULTS_LIMIT}"),
    })
}
