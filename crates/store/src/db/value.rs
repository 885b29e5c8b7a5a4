//! Values going into and coming out of either engine: four kinds (null, integer, real, text),
//! conversions from the Rust types the store uses, and rows read by column index.

use super::DbError;

/// One SQL value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
}

impl Value {
    fn kind(&self) -> String {
        match self {
            Value::Null => "NULL".into(),
            Value::Int(v) => format!("integer {v}"),
            Value::Real(v) => format!("real {v}"),
            Value::Text(v) => format!("text {v:?}"),
        }
    }
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}
impl From<i32> for Value {
    fn from(v: i32) -> Self {
        Value::Int(v.into())
    }
}
impl From<u32> for Value {
    fn from(v: u32) -> Self {
        Value::Int(v.into())
    }
}
impl From<u64> for Value {
    /// Above `i64::MAX` is stored as `i64::MAX` (ids and counts never get there).
    fn from(v: u64) -> Self {
        Value::Int(i64::try_from(v).unwrap_or(i64::MAX))
    }
}
impl From<usize> for Value {
    fn from(v: usize) -> Self {
        Value::Int(i64::try_from(v).unwrap_or(i64::MAX))
    }
}
impl From<u8> for Value {
    fn from(v: u8) -> Self {
        Value::Int(v.into())
    }
}
impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Int(v.into())
    }
}
impl From<f64> for Value {
    fn from(v: f64) -> Self {
        Value::Real(v)
    }
}
impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Text(v.to_string())
    }
}
impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Text(v)
    }
}
impl From<&String> for Value {
    fn from(v: &String) -> Self {
        Value::Text(v.clone())
    }
}
impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}

/// `[Value]` from a list of expressions of the types above.
#[macro_export]
macro_rules! values {
    ($($v:expr),* $(,)?) => {
        [$($crate::db::Value::from($v)),*]
    };
}

/// A Rust type a column can be read as.
pub trait FromValue: Sized {
    fn from_value(column: usize, value: Value) -> Result<Self, DbError>;
}

fn wrong<T>(column: usize, expected: &'static str, value: &Value) -> Result<T, DbError> {
    Err(DbError::Type {
        column,
        expected,
        found: value.kind(),
    })
}

impl FromValue for i64 {
    fn from_value(column: usize, value: Value) -> Result<Self, DbError> {
        match value {
            Value::Int(v) => Ok(v),
            other => wrong(column, "integer", &other),
        }
    }
}
impl FromValue for u64 {
    /// Negative stored values read as 0 (ids and sequence numbers are never negative).
    fn from_value(column: usize, value: Value) -> Result<Self, DbError> {
        Ok(i64::from_value(column, value)?.max(0) as u64)
    }
}
impl FromValue for usize {
    fn from_value(column: usize, value: Value) -> Result<Self, DbError> {
        Ok(i64::from_value(column, value)?.max(0) as usize)
    }
}
impl FromValue for u8 {
    fn from_value(column: usize, value: Value) -> Result<Self, DbError> {
        match value {
            Value::Int(v) if (0..=255).contains(&v) => Ok(v as u8),
            other => wrong(column, "integer 0-255", &other),
        }
    }
}
impl FromValue for bool {
    fn from_value(column: usize, value: Value) -> Result<Self, DbError> {
        Ok(i64::from_value(column, value)? != 0)
    }
}
impl FromValue for f64 {
    fn from_value(column: usize, value: Value) -> Result<Self, DbError> {
        match value {
            Value::Real(v) => Ok(v),
            Value::Int(v) => Ok(v as f64),
            other => wrong(column, "real", &other),
        }
    }
}
impl FromValue for String {
    fn from_value(column: usize, value: Value) -> Result<Self, DbError> {
        match value {
            Value::Text(v) => Ok(v),
            other => wrong(column, "text", &other),
        }
    }
}
impl<T: FromValue> FromValue for Option<T> {
    fn from_value(column: usize, value: Value) -> Result<Self, DbError> {
        match value {
            Value::Null => Ok(None),
            other => T::from_value(column, other).map(Some),
        }
    }
}

/// One row of a result, read by column index (0-based, in the order selected).
#[derive(Debug, Clone, PartialEq)]
pub struct Row(pub(crate) Vec<Value>);

impl Row {
    /// Column `index` as `T`.
    pub fn get<T: FromValue>(&self, index: usize) -> Result<T, DbError> {
        let value = self.0.get(index).ok_or(DbError::NoColumn(index))?;
        T::from_value(index, value.clone())
    }

    /// The number of columns.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the row has no column.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_convert_both_ways() {
        let row = Row(values![7i64, Some(2.5f64), None::<i64>, "x", true, 3u8, u64::MAX].to_vec());
        assert_eq!(row.get::<i64>(0).unwrap(), 7);
        assert_eq!(row.get::<f64>(0).unwrap(), 7.0);
        assert_eq!(row.get::<Option<f64>>(1).unwrap(), Some(2.5));
        assert_eq!(row.get::<Option<i64>>(2).unwrap(), None);
        assert_eq!(row.get::<String>(3).unwrap(), "x");
        assert!(row.get::<bool>(4).unwrap());
        assert_eq!(row.get::<u8>(5).unwrap(), 3);
        assert_eq!(row.get::<i64>(6).unwrap(), i64::MAX);
        assert!(matches!(
            row.get::<i64>(3),
            Err(DbError::Type { column: 3, .. })
        ));
        assert!(matches!(row.get::<String>(2), Err(DbError::Type { .. })));
        assert!(matches!(row.get::<i64>(9), Err(DbError::NoColumn(9))));
        assert!(Row(vec![Value::Int(300)]).get::<u8>(0).is_err());
    }
}
