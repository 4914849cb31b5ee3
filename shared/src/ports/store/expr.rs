//! Evaluates `Cond` against an item the way DynamoDB evaluates condition expressions:
//! numbers compare numerically, strings by UTF-8 bytes, other types only for (in)equality;
//! a comparison with a missing attribute or a value of another type is false, except `<>`,
//! which is true.

use super::{Cond, Item};
use serde_json::Value;
use std::cmp::Ordering;

/// Whether `cond` holds for `item` (`None`: the item does not exist).
pub fn evaluate(cond: &Cond, item: Option<&Item>) -> bool {
    let get = |name: &str| item.and_then(|i| i.get(name));
    match cond {
        Cond::Exists(n) => get(n).is_some(),
        Cond::NotExists(n) => get(n).is_none(),
        Cond::Eq(n, v) => get(n).is_some_and(|a| values_equal(a, v)),
        Cond::Ne(n, v) => !get(n).is_some_and(|a| values_equal(a, v)),
        Cond::Lt(n, v) => ordered(get(n), v, |o| o == Ordering::Less),
        Cond::Le(n, v) => ordered(get(n), v, |o| o != Ordering::Greater),
        Cond::Gt(n, v) => ordered(get(n), v, |o| o == Ordering::Greater),
        Cond::Ge(n, v) => ordered(get(n), v, |o| o != Ordering::Less),
        Cond::BeginsWith(n, p) => get(n)
            .and_then(Value::as_str)
            .is_some_and(|s| s.starts_with(p.as_str())),
        Cond::And(cs) => cs.iter().all(|c| evaluate(c, item)),
        Cond::Or(cs) => cs.iter().any(|c| evaluate(c, item)),
        Cond::Not(c) => !evaluate(c, item),
    }
}

fn ordered(a: Option<&Value>, b: &Value, want: impl Fn(Ordering) -> bool) -> bool {
    a.and_then(|a| compare_values(a, b)).is_some_and(want)
}

fn values_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(_), Value::Number(_)) => compare_values(a, b) == Some(Ordering::Equal),
        _ => a == b,
    }
}

/// Orders two scalar values of the same type (numbers or strings); `None` otherwise.
pub fn compare_values(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::String(x), Value::String(y)) => Some(x.as_bytes().cmp(y.as_bytes())),
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(x), Some(y)) => Some(x.cmp(&y)),
            _ => x.as_f64()?.partial_cmp(&y.as_f64()?),
        },
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn item(v: Value) -> Item {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn conditions_follow_dynamodb_semantics() {
        let it = item(json!({"pk": "A", "sk": "B", "n": 5, "s": "abc", "b": true}));
        let cases: Vec<(Cond, Option<&Item>, bool)> = vec![
            (Cond::absent(), None, true),
            (Cond::absent(), Some(&it), false),
            (Cond::present(), Some(&it), true),
            (Cond::eq("n", 5), Some(&it), true),
            (Cond::eq("n", 5.0), Some(&it), true),
            (Cond::eq("n", "5"), Some(&it), false),
            (Cond::Ne("n".into(), json!(4)), Some(&it), true),
            (Cond::Ne("missing".into(), json!(4)), Some(&it), true),
            (Cond::Ne("n".into(), json!(5)), Some(&it), false),
            (Cond::Lt("n".into(), json!(6)), Some(&it), true),
            (Cond::Lt("missing".into(), json!(6)), Some(&it), false),
            (Cond::Gt("s".into(), json!("abb")), Some(&it), true),
            (Cond::Gt("s".into(), json!(1)), Some(&it), false),
            (Cond::Le("n".into(), json!(5)), Some(&it), true),
            (Cond::Ge("n".into(), json!(6)), Some(&it), false),
            (Cond::BeginsWith("s".into(), "ab".into()), Some(&it), true),
            (Cond::BeginsWith("n".into(), "5".into()), Some(&it), false),
            (Cond::eq("b", true).and(Cond::eq("n", 5)), Some(&it), true),
            (
                Cond::Or(vec![Cond::eq("n", 1), Cond::eq("s", "abc")]),
                Some(&it),
                true,
            ),
            (Cond::Not(Box::new(Cond::eq("n", 5))), Some(&it), false),
            (Cond::eq("n", 5), None, false),
        ];
        for (i, (c, it, want)) in cases.iter().enumerate() {
            assert_eq!(evaluate(c, *it), *want, "case {i}: {c:?}");
        }
    }
}
