//! DynamoDB's limits, as part of the `Store` contract: both adapters refuse the same requests
//! with the same `StoreError::Invalid` (DynamoDB would refuse them too, later and in its own
//! words), and the conformance suite holds both to them.

use super::{Item, Key, StoreError, Write};
use serde_json::Value;

/// The most writes one transaction may carry (DynamoDB's limit).
pub const MAX_TRANSACTION_WRITES: usize = 100;

/// The most keys one batch read may name (DynamoDB's limit).
pub const MAX_BATCH_GET_KEYS: usize = 100;

/// DynamoDB's item size limit.
pub const MAX_ITEM_BYTES: usize = 400 * 1024;

/// DynamoDB's limit on the item data one query evaluates (1 MB): a page is cut there as well
/// as at the query's limit, so a caller that does not follow `next` is caught locally too.
pub const MAX_PAGE_BYTES: usize = 1024 * 1024;

/// DynamoDB's limit on nested lists and maps in an attribute value (32 levels). It also keeps
/// every journal line readable: the JSON parser refuses deeper nesting than it can recurse.
pub const MAX_NESTING: usize = 32;

/// The size of a value as JSON, without building the text (how both adapters measure an item).
pub fn item_size(v: &impl serde::Serialize) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0 += b.len();
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    match serde_json::to_writer(&mut count, v) {
        Ok(()) => count.0,
        Err(_) => usize::MAX,
    }
}

/// Whether `v` nests lists and maps more than `left` levels deep (looking no deeper).
fn nests_deeper(v: &Value, left: usize) -> bool {
    let inner: Box<dyn Iterator<Item = &Value>> = match v {
        Value::Array(a) => Box::new(a.iter()),
        Value::Object(m) => Box::new(m.values()),
        _ => return false,
    };
    left == 0 || inner.into_iter().any(|c| nests_deeper(c, left - 1))
}

/// Refuses an item over `MAX_ITEM_BYTES` or nested deeper than `MAX_NESTING`, as DynamoDB does.
pub fn check_item(item: &Item) -> Result<(), StoreError> {
    let size = item_size(item);
    if size > MAX_ITEM_BYTES {
        return Err(StoreError::Invalid(format!(
            "item is {size} bytes; the limit is {MAX_ITEM_BYTES}"
        )));
    }
    if let Some((name, _)) = item.iter().find(|(_, v)| nests_deeper(v, MAX_NESTING)) {
        return Err(StoreError::Invalid(format!(
            "attribute {name} nests lists and maps more than {MAX_NESTING} levels deep"
        )));
    }
    Ok(())
}

/// Checks the shape of a transaction the way DynamoDB does, so both adapters refuse the same.
pub fn validate_transaction(writes: &[Write]) -> Result<Vec<Key>, StoreError> {
    if writes.is_empty() {
        return Err(StoreError::Invalid("empty transaction".into()));
    }
    if writes.len() > MAX_TRANSACTION_WRITES {
        return Err(StoreError::Invalid(format!(
            "a transaction holds at most {MAX_TRANSACTION_WRITES} writes, got {}",
            writes.len()
        )));
    }
    let mut keys = Vec::with_capacity(writes.len());
    for w in writes {
        let k = w.key()?;
        if keys.contains(&k) {
            return Err(StoreError::Invalid(format!(
                "two writes on one item in a transaction: {k}"
            )));
        }
        if let Write::Update { update, .. } = w {
            if update.is_empty() {
                return Err(StoreError::Invalid("empty update".into()));
            }
        }
        keys.push(k);
    }
    Ok(keys)
}
