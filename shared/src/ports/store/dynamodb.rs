//! The `Store` port on Amazon DynamoDB (aws-sdk-dynamodb). The endpoint follows the SDK's
//! standard configuration, so `AWS_ENDPOINT_URL` / `AWS_ENDPOINT_URL_DYNAMODB` point it at an
//! emulator. SDK errors stay typed until they are classified here: a failed condition becomes
//! `ConditionFailed` / `TransactionCanceled`, throttles and network failures `Unavailable`.

use super::{
    validate_transaction, Cond, Index, Item, Key, Page, Query, SortKey, Store, StoreError, Update,
    Write, PK, SK, TTL,
};
use async_trait::async_trait;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::delete_item::DeleteItemError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::transact_write_items::builders::TransactWriteItemsFluentBuilder;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, ConditionCheck, Delete, GlobalSecondaryIndex,
    KeySchemaElement, KeyType, KeysAndAttributes, Projection, ProjectionType, Put, ReturnValue,
    ReturnValuesOnConditionCheckFailure, ScalarAttributeType, StreamSpecification, StreamViewType,
    TimeToLiveSpecification, TransactWriteItem, Update as DdbUpdate,
};
use aws_sdk_dynamodb::Client;
use serde_json::{Map, Number, Value};
use std::collections::HashMap;
use std::time::Duration;

pub struct DynamoStore {
    client: Client,
    table: String,
}

impl DynamoStore {
    pub fn new(client: Client, table: impl Into<String>) -> DynamoStore {
        DynamoStore {
            client,
            table: table.into(),
        }
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    /// Makes the client ready for the first request during a cold start: one `GetItem` of a key
    /// no item has resolves the endpoint and credentials, loads the TLS roots and opens the
    /// connection, which the client keeps for the request after. Bounded by `within`; any
    /// failure (the table unreachable, access denied) is logged and otherwise ignored, so it
    /// never fails a cold start and the first request simply pays as it would have.
    pub async fn warm(&self, within: std::time::Duration) {
        let call = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key_attrs(&Key::new("admit#warm", "admit#warm"))))
            .projection_expression(PK)
            .send();
        match tokio::time::timeout(within, call).await {
            Ok(Ok(_)) => tracing::debug!("the DynamoDB connection is ready"),
            Ok(Err(e)) => {
                tracing::info!(error = %classify(e), "warming the DynamoDB connection failed")
            }
            Err(_) => tracing::info!("warming the DynamoDB connection took too long"),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Values

pub fn to_attr(v: &Value) -> AttributeValue {
    match v {
        Value::Null => AttributeValue::Null(true),
        Value::Bool(b) => AttributeValue::Bool(*b),
        Value::Number(n) => AttributeValue::N(n.to_string()),
        Value::String(s) => AttributeValue::S(s.clone()),
        Value::Array(a) => AttributeValue::L(a.iter().map(to_attr).collect()),
        Value::Object(m) => AttributeValue::M(to_attrs(m)),
    }
}

pub fn to_attrs(item: &Item) -> HashMap<String, AttributeValue> {
    item.iter().map(|(k, v)| (k.clone(), to_attr(v))).collect()
}

fn number(s: &str) -> Value {
    if let Ok(i) = s.parse::<i64>() {
        return Value::from(i);
    }
    if let Ok(u) = s.parse::<u64>() {
        return Value::from(u);
    }
    s.parse::<f64>()
        .ok()
        .and_then(Number::from_f64)
        .map(Value::Number)
        .unwrap_or_else(|| Value::String(s.to_string()))
}

pub fn from_attr(a: &AttributeValue) -> Value {
    match a {
        AttributeValue::S(s) => Value::String(s.clone()),
        AttributeValue::N(n) => number(n),
        AttributeValue::Bool(b) => Value::Bool(*b),
        AttributeValue::L(l) => Value::Array(l.iter().map(from_attr).collect()),
        AttributeValue::M(m) => Value::Object(from_attrs(m)),
        AttributeValue::Ss(ss) => Value::Array(ss.iter().cloned().map(Value::String).collect()),
        AttributeValue::Ns(ns) => Value::Array(ns.iter().map(|n| number(n)).collect()),
        _ => Value::Null,
    }
}

pub fn from_attrs(m: &HashMap<String, AttributeValue>) -> Item {
    m.iter()
        .map(|(k, v)| (k.clone(), from_attr(v)))
        .collect::<Map<_, _>>()
}

fn key_attrs(k: &Key) -> HashMap<String, AttributeValue> {
    HashMap::from([
        (PK.to_string(), AttributeValue::S(k.pk.clone())),
        (SK.to_string(), AttributeValue::S(k.sk.clone())),
    ])
}

// ---------------------------------------------------------------------------------------------
// Expressions

#[derive(Default)]
struct Expr {
    names: HashMap<String, String>,
    values: HashMap<String, AttributeValue>,
}

impl Expr {
    fn name(&mut self, attr: &str) -> String {
        if let Some((alias, _)) = self.names.iter().find(|(_, a)| a.as_str() == attr) {
            return alias.clone();
        }
        let alias = format!("#n{}", self.names.len());
        self.names.insert(alias.clone(), attr.to_string());
        alias
    }

    fn value(&mut self, v: &Value) -> String {
        let alias = format!(":v{}", self.values.len());
        self.values.insert(alias.clone(), to_attr(v));
        alias
    }

    fn cond(&mut self, c: &Cond) -> String {
        let mut cmp = |n: &str, op: &str, v: &Value| {
            let n = self.name(n);
            let v = self.value(v);
            format!("{n} {op} {v}")
        };
        match c {
            Cond::Exists(n) => format!("attribute_exists({})", self.name(n)),
            Cond::NotExists(n) => format!("attribute_not_exists({})", self.name(n)),
            Cond::Eq(n, v) => cmp(n, "=", v),
            Cond::Ne(n, v) => cmp(n, "<>", v),
            Cond::Lt(n, v) => cmp(n, "<", v),
            Cond::Le(n, v) => cmp(n, "<=", v),
            Cond::Gt(n, v) => cmp(n, ">", v),
            Cond::Ge(n, v) => cmp(n, ">=", v),
            Cond::BeginsWith(n, p) => {
                let n = self.name(n);
                let v = self.value(&Value::String(p.clone()));
                format!("begins_with({n}, {v})")
            }
            Cond::And(cs) => self.join(
                cs,
                " AND ",
                "attribute_exists(#always) OR attribute_not_exists(#always)",
            ),
            Cond::Or(cs) => self.join(
                cs,
                " OR ",
                "attribute_exists(#always) AND attribute_not_exists(#always)",
            ),
            Cond::Not(c) => format!("NOT ({})", self.cond(c)),
        }
    }

    fn join(&mut self, cs: &[Cond], sep: &str, empty: &str) -> String {
        if cs.is_empty() {
            self.names.insert("#always".into(), PK.into());
            return format!("({empty})");
        }
        let parts: Vec<String> = cs.iter().map(|c| format!("({})", self.cond(c))).collect();
        parts.join(sep)
    }

    fn update(&mut self, u: &Update) -> String {
        let mut clauses = Vec::new();
        if !u.set.is_empty() {
            let s: Vec<String> = u
                .set
                .iter()
                .map(|(n, v)| format!("{} = {}", self.name(n), self.value(v)))
                .collect();
            clauses.push(format!("SET {}", s.join(", ")));
        }
        if !u.remove.is_empty() {
            let r: Vec<String> = u.remove.iter().map(|n| self.name(n)).collect();
            clauses.push(format!("REMOVE {}", r.join(", ")));
        }
        if !u.add.is_empty() {
            let a: Vec<String> = u
                .add
                .iter()
                .map(|(n, by)| format!("{} {}", self.name(n), self.value(&Value::from(*by))))
                .collect();
            clauses.push(format!("ADD {}", a.join(", ")));
        }
        clauses.join(" ")
    }

    fn names(&self) -> Option<HashMap<String, String>> {
        (!self.names.is_empty()).then(|| self.names.clone())
    }

    fn values(&self) -> Option<HashMap<String, AttributeValue>> {
        (!self.values.is_empty()).then(|| self.values.clone())
    }
}

// ---------------------------------------------------------------------------------------------
// Errors

const TRANSIENT_CODES: &[&str] = &[
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "ThrottlingException",
    "InternalServerError",
    "ServiceUnavailable",
    "TransactionInProgressException",
    "LimitExceededException",
];

/// Classifies an SDK error that is not a condition failure.
fn classify<E, R>(err: SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    match &err {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            StoreError::Unavailable(Box::new(err))
        }
        SdkError::ServiceError(se) => {
            let code = se.err().code().unwrap_or_default();
            if TRANSIENT_CODES.contains(&code) {
                StoreError::Unavailable(Box::new(err))
            } else if code == "ValidationException" {
                StoreError::Invalid(
                    se.err()
                        .message()
                        .unwrap_or("validation failed")
                        .to_string(),
                )
            } else {
                StoreError::Internal(Box::new(err))
            }
        }
        _ => StoreError::Internal(Box::new(err)),
    }
}

/// Maps a single-item write's error: a failed condition carries the item as it was.
macro_rules! write_error {
    ($err:ident) => {
        |e: SdkError<$err, _>| match e.as_service_error() {
            Some($err::ConditionalCheckFailedException(c)) => StoreError::ConditionFailed {
                current: c.item().map(from_attrs),
            },
            _ => classify(e),
        }
    };
}

fn build_error(e: impl std::fmt::Display) -> StoreError {
    StoreError::Invalid(format!("request could not be built: {e}"))
}

// ---------------------------------------------------------------------------------------------
// Transactions

impl DynamoStore {
    fn transact_item(&self, w: &Write) -> Result<TransactWriteItem, StoreError> {
        let mut x = Expr::default();
        let cond = w.cond().map(|c| x.cond(c));
        let on_fail = ReturnValuesOnConditionCheckFailure::AllOld;
        let b = TransactWriteItem::builder();
        let built = match w {
            Write::Put { item, .. } => b.put(
                Put::builder()
                    .table_name(&self.table)
                    .set_item(Some(to_attrs(item)))
                    .set_condition_expression(cond)
                    .set_expression_attribute_names(x.names())
                    .set_expression_attribute_values(x.values())
                    .return_values_on_condition_check_failure(on_fail)
                    .build()
                    .map_err(build_error)?,
            ),
            Write::Update { key, update, .. } => {
                let ue = x.update(update);
                b.update(
                    DdbUpdate::builder()
                        .table_name(&self.table)
                        .set_key(Some(key_attrs(key)))
                        .update_expression(ue)
                        .set_condition_expression(cond)
                        .set_expression_attribute_names(x.names())
                        .set_expression_attribute_values(x.values())
                        .return_values_on_condition_check_failure(on_fail)
                        .build()
                        .map_err(build_error)?,
                )
            }
            Write::Delete { key, .. } => b.delete(
                Delete::builder()
                    .table_name(&self.table)
                    .set_key(Some(key_attrs(key)))
                    .set_condition_expression(cond)
                    .set_expression_attribute_names(x.names())
                    .set_expression_attribute_values(x.values())
                    .return_values_on_condition_check_failure(on_fail)
                    .build()
                    .map_err(build_error)?,
            ),
            Write::Check { key, .. } => b.condition_check(
                ConditionCheck::builder()
                    .table_name(&self.table)
                    .set_key(Some(key_attrs(key)))
                    .set_condition_expression(cond)
                    .set_expression_attribute_names(x.names())
                    .set_expression_attribute_values(x.values())
                    .return_values_on_condition_check_failure(on_fail)
                    .build()
                    .map_err(build_error)?,
            ),
        };
        Ok(built.build())
    }
}

impl DynamoStore {
    /// The TransactWriteItems request of one `transact` call, with a fresh
    /// `ClientRequestToken`: the SDK's own retries of this request reuse it, so a retry after
    /// a lost answer is recognised by DynamoDB as the commit that already happened (answered
    /// as a success for 10 minutes) instead of failing its conditions.
    fn transact_request(&self, items: Vec<TransactWriteItem>) -> TransactWriteItemsFluentBuilder {
        self.client
            .transact_write_items()
            .set_transact_items(Some(items))
            .client_request_token(client_request_token())
    }
}

/// A new idempotency token: 32 random hex digits (DynamoDB takes 1 to 36 characters).
fn client_request_token() -> String {
    crate::domain::secrets::random_hex_id()
}

#[async_trait]
impl Store for DynamoStore {
    async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key_attrs(key)))
            .consistent_read(true)
            .send()
            .await
            .map_err(classify)?;
        Ok(out.item().map(from_attrs))
    }

    async fn batch_get(&self, keys: &[Key]) -> Result<Vec<Item>, StoreError> {
        if keys.len() > super::MAX_BATCH_GET_KEYS {
            return Err(StoreError::Invalid(format!(
                "batch get of more than {} keys",
                super::MAX_BATCH_GET_KEYS
            )));
        }
        let mut unique: Vec<&Key> = Vec::new();
        for k in keys {
            if !unique.contains(&k) {
                unique.push(k);
            }
        }
        if unique.is_empty() {
            return Ok(Vec::new());
        }
        let mut request = KeysAndAttributes::builder()
            .set_keys(Some(unique.iter().map(|k| key_attrs(k)).collect()))
            .consistent_read(true)
            .build()
            .map_err(build_error)?;
        let mut found = Vec::new();
        let mut backoff = Duration::from_millis(25);
        for attempt in 0..6 {
            let out = self
                .client
                .batch_get_item()
                .request_items(&self.table, request.clone())
                .send()
                .await
                .map_err(classify)?;
            if let Some(items) = out.responses().and_then(|r| r.get(&self.table)) {
                found.extend(items.iter().map(from_attrs));
            }
            match out
                .unprocessed_keys()
                .and_then(|u| u.get(&self.table))
                .filter(|k| !k.keys().is_empty())
            {
                None => return Ok(found),
                Some(rest) => {
                    request = rest.clone();
                    if attempt < 5 {
                        tokio::time::sleep(backoff).await;
                        backoff *= 2;
                    }
                }
            }
        }
        Err(StoreError::Unavailable(
            "batch get left keys unprocessed after retries".into(),
        ))
    }

    async fn query(&self, q: &Query) -> Result<Page, StoreError> {
        let mut x = Expr::default();
        let (pn, sn) = q.index.key_names();
        let p = format!(
            "{} = {}",
            x.name(pn),
            x.value(&Value::String(q.partition.clone()))
        );
        let s = |x: &mut Expr, op: &str, v: &str| {
            let n = x.name(sn);
            let v = x.value(&Value::String(v.to_string()));
            format!(" AND {n} {op} {v}")
        };
        let sort = match &q.sort {
            SortKey::Any => String::new(),
            SortKey::Eq(v) => s(&mut x, "=", v),
            SortKey::Lt(v) => s(&mut x, "<", v),
            SortKey::Le(v) => s(&mut x, "<=", v),
            SortKey::Gt(v) => s(&mut x, ">", v),
            SortKey::Ge(v) => s(&mut x, ">=", v),
            SortKey::BeginsWith(v) => {
                let n = x.name(sn);
                let v = x.value(&Value::String(v.clone()));
                format!(" AND begins_with({n}, {v})")
            }
            SortKey::Between(lo, hi) => {
                let n = x.name(sn);
                let lo = x.value(&Value::String(lo.clone()));
                let hi = x.value(&Value::String(hi.clone()));
                format!(" AND {n} BETWEEN {lo} AND {hi}")
            }
        };
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .set_index_name(q.index.name().map(str::to_string))
            .key_condition_expression(format!("{p}{sort}"))
            .set_expression_attribute_names(x.names())
            .set_expression_attribute_values(x.values())
            .scan_index_forward(q.ascending)
            .set_limit(q.limit.map(|l| l.min(i32::MAX as usize) as i32))
            .set_exclusive_start_key(q.start_after.as_ref().map(to_attrs))
            .set_consistent_read(
                (q.index == Index::Table && !q.eventually_consistent).then_some(true),
            )
            .send()
            .await
            .map_err(classify)?;
        let items: Vec<Item> = out.items().iter().map(from_attrs).collect();
        let next = out.last_evaluated_key().map(from_attrs);
        Ok(Page { items, next })
    }

    async fn put(&self, item: Item, cond: Option<Cond>) -> Result<(), StoreError> {
        super::check_item(&item)?;
        let mut x = Expr::default();
        let ce = cond.as_ref().map(|c| x.cond(c));
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(to_attrs(&item)))
            .set_condition_expression(ce)
            .set_expression_attribute_names(x.names())
            .set_expression_attribute_values(x.values())
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await
            .map_err(write_error!(PutItemError))?;
        Ok(())
    }

    async fn update(
        &self,
        key: &Key,
        update: Update,
        cond: Option<Cond>,
    ) -> Result<Item, StoreError> {
        if update.is_empty() {
            return Err(StoreError::Invalid("empty update".into()));
        }
        let mut x = Expr::default();
        let ue = x.update(&update);
        let ce = cond.as_ref().map(|c| x.cond(c));
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key_attrs(key)))
            .update_expression(ue)
            .set_condition_expression(ce)
            .set_expression_attribute_names(x.names())
            .set_expression_attribute_values(x.values())
            .return_values(ReturnValue::AllNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await
            .map_err(write_error!(UpdateItemError))?;
        Ok(out.attributes().map(from_attrs).unwrap_or_default())
    }

    async fn delete(&self, key: &Key, cond: Option<Cond>) -> Result<Option<Item>, StoreError> {
        let mut x = Expr::default();
        let ce = cond.as_ref().map(|c| x.cond(c));
        let out = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key_attrs(key)))
            .set_condition_expression(ce)
            .set_expression_attribute_names(x.names())
            .set_expression_attribute_values(x.values())
            .return_values(ReturnValue::AllOld)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await
            .map_err(write_error!(DeleteItemError))?;
        Ok(out.attributes().map(from_attrs))
    }

    async fn transact(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        validate_transaction(&writes)?;
        for w in &writes {
            if let Write::Put { item, .. } = w {
                super::check_item(item)?;
            }
        }
        let items = writes
            .iter()
            .map(|w| self.transact_item(w))
            .collect::<Result<Vec<_>, _>>()?;
        self.transact_request(items)
            .send()
            .await
            .map_err(|e| match e.as_service_error() {
                Some(TransactWriteItemsError::TransactionCanceledException(c)) => {
                    let codes: Vec<Option<&str>> =
                        c.cancellation_reasons().iter().map(|r| r.code()).collect();
                    cancellation(&codes)
                }
                // One token per call: a mismatch means a token was reused by mistake (a bug).
                Some(TransactWriteItemsError::IdempotentParameterMismatchException(_)) => {
                    StoreError::Internal(Box::new(e))
                }
                _ => classify(e),
            })?;
        Ok(())
    }
}

/// What a cancelled transaction means, from its per-write reasons: failed conditions (by
/// index) are the caller's to interpret; a conflict with a concurrent transaction is worth a
/// retry (`TransactionCanceled` with no failed write); throttling is `Unavailable`; a validation
/// error or an item collection over its size limit is `Invalid` (a bug, never retried).
fn cancellation(codes: &[Option<&str>]) -> StoreError {
    let failed: Vec<usize> = codes
        .iter()
        .enumerate()
        .filter(|(_, c)| **c == Some("ConditionalCheckFailed"))
        .map(|(i, _)| i)
        .collect();
    if !failed.is_empty() {
        return StoreError::TransactionCanceled { failed };
    }
    let has = |want: &[&str]| codes.iter().flatten().any(|c| want.contains(c));
    if has(&["ValidationError", "ItemCollectionSizeLimitExceeded"]) {
        let named: Vec<&str> = codes
            .iter()
            .flatten()
            .copied()
            .filter(|c| *c != "None")
            .collect();
        return StoreError::Invalid(format!("transaction refused: {}", named.join(", ")));
    }
    if has(&[
        "ThrottlingError",
        "ProvisionedThroughputExceeded",
        "RequestLimitExceeded",
    ]) {
        return StoreError::Unavailable("transaction throttled".into());
    }
    // TransactionConflict, or no reason given: another transaction got there first.
    StoreError::TransactionCanceled { failed }
}

/// Creates the table as template.yaml declares it (for local DynamoDB emulators and tests):
/// `pk`/`sk` strings, GSIs `gsi1` and `gsi2`, on-demand, a stream of new images, TTL on `ttl`.
pub async fn create_table(client: &Client, table: &str) -> Result<(), StoreError> {
    let attr = |n: &str| {
        AttributeDefinition::builder()
            .attribute_name(n)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .map_err(build_error)
    };
    let key = |n: &str, t: KeyType| {
        KeySchemaElement::builder()
            .attribute_name(n)
            .key_type(t)
            .build()
            .map_err(build_error)
    };
    let mut defs = vec![attr(PK)?, attr(SK)?];
    let mut gsis = Vec::new();
    for index in [Index::Gsi1, Index::Gsi2] {
        let (p, s) = index.key_names();
        defs.push(attr(p)?);
        defs.push(attr(s)?);
        gsis.push(
            GlobalSecondaryIndex::builder()
                .index_name(index.name().unwrap_or_default())
                .key_schema(key(p, KeyType::Hash)?)
                .key_schema(key(s, KeyType::Range)?)
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::All)
                        .build(),
                )
                .build()
                .map_err(build_error)?,
        );
    }
    client
        .create_table()
        .table_name(table)
        .set_attribute_definitions(Some(defs))
        .key_schema(key(PK, KeyType::Hash)?)
        .key_schema(key(SK, KeyType::Range)?)
        .set_global_secondary_indexes(Some(gsis))
        .billing_mode(BillingMode::PayPerRequest)
        .stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::NewImage)
                .build()
                .map_err(build_error)?,
        )
        .send()
        .await
        .map_err(classify)?;
    client
        .update_time_to_live()
        .table_name(table)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .attribute_name(TTL)
                .enabled(true)
                .build()
                .map_err(build_error)?,
        )
        .send()
        .await
        .map_err(classify)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_cancellation_reason_is_its_own_error() {
        let c = |codes: &[Option<&str>]| cancellation(codes);
        assert!(c(&[Some("None"), Some("ConditionalCheckFailed")]).failed_at(1));
        let conflict = c(&[Some("TransactionConflict"), Some("None")]);
        assert!(conflict.is_transient() && !conflict.is_condition_failure());
        assert!(matches!(
            c(&[Some("ValidationError")]),
            StoreError::Invalid(_)
        ));
        assert!(matches!(
            c(&[Some("None"), Some("ItemCollectionSizeLimitExceeded")]),
            StoreError::Invalid(_)
        ));
        assert!(matches!(
            c(&[Some("ThrottlingError")]),
            StoreError::Unavailable(_)
        ));
        assert!(matches!(
            c(&[Some("ProvisionedThroughputExceeded")]),
            StoreError::Unavailable(_)
        ));
    }

    use serde_json::json;

    /// A store on a client that is never sent anything (the request is only built).
    fn offline_store() -> DynamoStore {
        let conf = aws_sdk_dynamodb::Config::builder()
            .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
            .region(aws_sdk_dynamodb::config::Region::new("us-east-1"))
            .build();
        DynamoStore::new(Client::from_conf(conf), "t")
    }

    #[test]
    fn every_transaction_carries_its_own_client_request_token() {
        let store = offline_store();
        let put = Write::Put {
            item: json!({"pk": "A", "sk": "B"}).as_object().unwrap().clone(),
            cond: None,
        };
        let token = |s: &DynamoStore| {
            let items = vec![s.transact_item(&put).unwrap()];
            s.transact_request(items)
                .as_input()
                .get_client_request_token()
                .clone()
        };
        let first = token(&store).expect("a ClientRequestToken");
        let second = token(&store).expect("a ClientRequestToken");
        assert!((1..=36).contains(&first.len()), "{first}");
        assert_ne!(first, second, "a new token for each call");
    }

    #[test]
    fn values_round_trip_through_attribute_values() {
        let v = json!({"s": "x", "n": 5, "neg": -3, "f": 1.5, "b": true, "z": null,
                       "l": [1, "a"], "m": {"k": "v"}, "big": 9007199254740991u64});
        let item = v.as_object().unwrap().clone();
        assert_eq!(from_attrs(&to_attrs(&item)), item);
    }

    #[test]
    fn expressions_alias_every_name_and_value() {
        let mut x = Expr::default();
        let c = x.cond(&Cond::absent().and(Cond::eq("status", "active")));
        assert_eq!(c, "(attribute_not_exists(#n0)) AND (#n1 = :v0)");
        assert_eq!(x.names.get("#n1").unwrap(), "status");
        let mut x = Expr::default();
        let u = x.update(&Update::new().set("a", 1).remove("b").add("c", 2));
        assert_eq!(u, "SET #n0 = :v0 REMOVE #n1 ADD #n2 :v1");
    }
}
