//! What a parsed filter and order_by say, independent of SQL: the
//! comparators and tests every entity shares, then each entity's clauses
//! and sort keys (runs, experiments, logged models, and registered models
//! with their versions).

use std::fmt;

/// A comparison operator of the filter language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparator {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Like,
    ILike,
    In,
    NotIn,
    IsNull,
    IsNotNull,
}

impl Comparator {
    pub fn as_str(self) -> &'static str {
        match self {
            Comparator::Eq => "=",
            Comparator::Ne => "!=",
            Comparator::Lt => "<",
            Comparator::Le => "<=",
            Comparator::Gt => ">",
            Comparator::Ge => ">=",
            Comparator::Like => "LIKE",
            Comparator::ILike => "ILIKE",
            Comparator::In => "IN",
            Comparator::NotIn => "NOT IN",
            Comparator::IsNull => "IS NULL",
            Comparator::IsNotNull => "IS NOT NULL",
        }
    }

    /// The six comparisons of numbers, as SQL operators.
    pub fn numeric_sql(self) -> Option<&'static str> {
        match self {
            Comparator::Eq => Some("="),
            Comparator::Ne => Some("!="),
            Comparator::Lt => Some("<"),
            Comparator::Le => Some("<="),
            Comparator::Gt => Some(">"),
            Comparator::Ge => Some(">="),
            _ => None,
        }
    }
}

impl fmt::Display for Comparator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Comparators of numbers: metrics and numeric attributes.
pub const NUMERIC: &[Comparator] = &[
    Comparator::Eq,
    Comparator::Ne,
    Comparator::Lt,
    Comparator::Le,
    Comparator::Gt,
    Comparator::Ge,
];
/// Comparators of params and tags.
pub const KEYED_TEXT: &[Comparator] = &[
    Comparator::Eq,
    Comparator::Ne,
    Comparator::Like,
    Comparator::ILike,
    Comparator::IsNull,
    Comparator::IsNotNull,
];
/// Comparators of string attributes and dataset fields.
pub const TEXT_OR_LIST: &[Comparator] = &[
    Comparator::Eq,
    Comparator::Ne,
    Comparator::Like,
    Comparator::ILike,
    Comparator::In,
    Comparator::NotIn,
];
/// Comparators of an experiment's name.
pub const TEXT: &[Comparator] = &[
    Comparator::Eq,
    Comparator::Ne,
    Comparator::Like,
    Comparator::ILike,
];
/// Comparators of an identifier compared with one value or a list.
pub const IDENTITY: &[Comparator] = &[
    Comparator::Eq,
    Comparator::Ne,
    Comparator::In,
    Comparator::NotIn,
];
/// Comparators of a logged model's tags and params: text, lists, and
/// whether the model has the key.
pub const KEYED_TEXT_OR_LIST: &[Comparator] = &[
    Comparator::Eq,
    Comparator::Ne,
    Comparator::Like,
    Comparator::ILike,
    Comparator::In,
    Comparator::NotIn,
    Comparator::IsNull,
    Comparator::IsNotNull,
];

pub fn list_comparators(allowed: &[Comparator]) -> String {
    allowed
        .iter()
        .map(|c| c.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// A test of a text value.
#[derive(Debug, Clone, PartialEq)]
pub enum TextTest {
    Eq(String),
    Ne(String),
    /// `%` and `_` are wildcards; case matters.
    Like(String),
    /// As `Like`, ignoring the case of ASCII letters.
    ILike(String),
    In(Vec<String>),
    NotIn(Vec<String>),
}

/// A test of a param or tag: its value, or whether the run has the key.
#[derive(Debug, Clone, PartialEq)]
pub enum KeyTest {
    Value(TextTest),
    IsNull,
    IsNotNull,
}

/// A number as written in a filter: integers stay exact.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Number {
    Int(i64),
    Float(f64),
}

/// A comparison with a number. `op` is one of [`NUMERIC`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NumTest {
    pub op: Comparator,
    pub value: Number,
}

/// A run attribute compared as text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextAttribute {
    RunId,
    RunName,
    Status,
    UserId,
    ArtifactUri,
}

/// A run attribute compared as a number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumAttribute {
    StartTime,
    EndTime,
}

/// A field of the datasets a run takes as inputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatasetField {
    Name,
    Digest,
    /// The input's `mlflow.data.context` tag.
    Context,
}

/// One clause of a run filter.
#[derive(Debug, Clone, PartialEq)]
pub enum RunClause {
    /// The latest value of a metric.
    Metric {
        key: String,
        test: NumTest,
    },
    Param {
        key: String,
        test: KeyTest,
    },
    Tag {
        key: String,
        test: KeyTest,
    },
    Text {
        attribute: TextAttribute,
        test: TextTest,
    },
    Numeric {
        attribute: NumAttribute,
        test: NumTest,
    },
    /// True when any dataset input of the run passes.
    Dataset {
        field: DatasetField,
        test: TextTest,
    },
}

/// What a run can be ordered by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunSortKey {
    Metric(String),
    Param(String),
    Tag(String),
    Text(TextAttribute),
    Numeric(NumAttribute),
}

/// One clause of an experiment filter.
#[derive(Debug, Clone, PartialEq)]
pub enum ExperimentClause {
    Name(TextTest),
    /// Only `=`, `!=`, `IN` and `NOT IN`.
    Id {
        op: Comparator,
        ids: Vec<i64>,
    },
    CreationTime(NumTest),
    LastUpdateTime(NumTest),
    Tag {
        key: String,
        test: KeyTest,
    },
}

/// What an experiment can be ordered by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExperimentSortKey {
    Name,
    ExperimentId,
    CreationTime,
    LastUpdateTime,
}

/// One order_by clause.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderBy<K> {
    pub key: K,
    pub ascending: bool,
}

/// A text attribute of a logged model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelText {
    ModelId,
    Name,
    Status,
    ModelType,
    SourceRunId,
    ArtifactLocation,
}

/// A time attribute of a logged model (ms since the epoch).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelTime {
    Creation,
    LastUpdated,
}

/// One clause of a logged-model filter.
#[derive(Debug, Clone, PartialEq)]
pub enum ModelClause {
    Text {
        attribute: ModelText,
        test: TextTest,
    },
    Time {
        attribute: ModelTime,
        test: NumTest,
    },
    Tag {
        key: String,
        test: KeyTest,
    },
    Param {
        key: String,
        test: KeyTest,
    },
    /// True when any point of the metric passes.
    Metric {
        key: String,
        test: NumTest,
    },
}

/// What logged models can be ordered by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelSortKey {
    Text(ModelText),
    Time(ModelTime),
    /// The latest point of the metric, among points on the dataset when
    /// one is named.
    Metric {
        key: String,
        dataset_name: Option<String>,
        dataset_digest: Option<String>,
    },
}

/// One order_by clause of a logged-model search.
pub type ModelOrder = OrderBy<ModelSortKey>;

/// One clause of a registered-model or model-version filter. Registered
/// models take `Name` and `Tag` only.
#[derive(Debug, Clone, PartialEq)]
pub enum RegistryClause {
    /// The registered model's name.
    Name(TextTest),
    /// The version's number.
    Version(NumTest),
    /// The run the version came from.
    RunId(TextTest),
    /// The version's source.
    SourcePath(TextTest),
    /// True when the entity has the tag with a value that passes.
    Tag { key: String, test: TextTest },
}

/// What registered models and model versions can be ordered by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegistrySortKey {
    Name,
    /// Versions only.
    Version,
    CreationTime,
    LastUpdatedTime,
}

/// One order_by clause of a registry search.
pub type RegistryOrder = OrderBy<RegistrySortKey>;
