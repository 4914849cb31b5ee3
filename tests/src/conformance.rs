//! The `Store` conformance suite: the same scenarios against every adapter. An adapter that
//! passes behaves like DynamoDB for everything admit relies on.

use admit_shared::ports::store::{
    Cond, Index, Item, Key, Query, SortKey, Store, StoreError, Update, Write,
};
use serde_json::{json, Value};
use std::sync::Arc;

fn item(v: Value) -> Item {
    v.as_object().expect("object").clone()
}

fn sks(items: &[Item]) -> Vec<String> {
    items
        .iter()
        .map(|i| i["sk"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// Runs every case on one store; panics with the case's name on the first difference. (The
/// tests run each case on its own, `conformance_cases!`; this is for a store that must hold
/// what every case wrote, as across a restart.)
pub async fn run(store: Arc<dyn Store>) {
    values_round_trip(store.clone()).await;
    conditional_put(store.clone()).await;
    updates(store.clone()).await;
    deletes(store.clone()).await;
    transactions_are_all_or_nothing(store.clone()).await;
    transactions_refuse_two_writes_on_one_item(store.clone()).await;
    queries_by_prefix_range_order_and_page(store.clone()).await;
    sparse_secondary_indexes(store.clone()).await;
    batch_get(store.clone()).await;
    dynamodb_limits_are_refused_alike(store.clone()).await;
    counters_are_atomic(store).await;
}

/// One test per conformance case, each on a fresh store that `$store` makes (an expression
/// that may `.await`), so a run reports every case of every adapter on its own:
/// `conformance_cases!(Arc::new(EmbeddedStore::in_memory()));`. The race of
/// `run_concurrent_transactions` is declared apart (the emulator does not serialise).
#[macro_export]
macro_rules! conformance_cases {
    ($store:expr) => {
        $crate::conformance_cases!($store; values_round_trip, conditional_put, updates, deletes,
            transactions_are_all_or_nothing, transactions_refuse_two_writes_on_one_item,
            queries_by_prefix_range_order_and_page, sparse_secondary_indexes, batch_get,
            dynamodb_limits_are_refused_alike, counters_are_atomic);
    };
    ($store:expr; $($case:ident),+) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let store: std::sync::Arc<dyn admit_shared::ports::store::Store> = $store;
                $crate::conformance::$case(store).await;
            }
        )+
    };
}

/// Concurrent transactions racing for one guard: exactly one wins and the losers leave nothing
/// behind. Run against the embedded store only: DynamoDB guarantees this (transactions are
/// serialisable), but the moto emulator does not under concurrent requests (a cancelled
/// transaction restores a snapshot of the whole table, which can bring back a loser's writes).
pub async fn run_concurrent_transactions(store: Arc<dyn Store>) {
    one_winner_per_guard(store).await;
}

pub async fn values_round_trip(s: Arc<dyn Store>) {
    let it = item(
        json!({"pk": "RT", "sk": "1", "s": "text ünïcode", "n": 42, "neg": -7, "f": 2.5,
        "b": false, "z": null, "l": [1, "two", {"three": 3}], "m": {"nested": {"deep": true}},
        "big": 9_007_199_254_740_991u64, "ttl": 4_102_444_800i64}),
    );
    s.put(it.clone(), None).await.expect("put");
    assert_eq!(
        s.get(&Key::new("RT", "1")).await.expect("get"),
        Some(it),
        "values_round_trip"
    );
    assert_eq!(s.get(&Key::new("RT", "missing")).await.expect("get"), None);
}

pub async fn conditional_put(s: Arc<dyn Store>) {
    let first = item(json!({"pk": "CP", "sk": "guard", "owner": 1}));
    s.put(first.clone(), Some(Cond::absent()))
        .await
        .expect("first put");
    let second = s
        .put(
            item(json!({"pk": "CP", "sk": "guard", "owner": 2})),
            Some(Cond::absent()),
        )
        .await;
    match second {
        Err(StoreError::ConditionFailed { current }) => assert_eq!(
            current,
            Some(first.clone()),
            "conditional_put returns the current item"
        ),
        other => panic!("conditional_put: expected ConditionFailed, got {other:?}"),
    }
    assert_eq!(s.get(&Key::new("CP", "guard")).await.unwrap(), Some(first));
    // Conditions on attributes.
    s.put(
        item(json!({"pk": "CP", "sk": "guard", "owner": 3})),
        Some(Cond::eq("owner", 1)),
    )
    .await
    .expect("eq holds");
    let r = s
        .put(
            item(json!({"pk": "CP", "sk": "guard", "owner": 4})),
            Some(Cond::eq("owner", 1)),
        )
        .await;
    assert!(
        matches!(r, Err(StoreError::ConditionFailed { .. })),
        "conditional_put eq fails: {r:?}"
    );
    s.put(
        item(json!({"pk": "CP", "sk": "ne"})),
        Some(Cond::Ne("status".into(), json!("deleted"))),
    )
    .await
    .expect("<> on a missing attribute holds");
}

pub async fn updates(s: Arc<dyn Store>) {
    let k = Key::new("UP", "1");
    let created = s
        .update(&k, Update::new().set("a", "x").add("n", 2), None)
        .await
        .expect("update creates");
    assert_eq!(
        created,
        item(json!({"pk": "UP", "sk": "1", "a": "x", "n": 2})),
        "updates: create"
    );
    let after = s
        .update(
            &k,
            Update::new()
                .set("b", json!({"k": [1]}))
                .remove("a")
                .add("n", -5),
            Some(Cond::present().and(Cond::eq("n", 2))),
        )
        .await
        .expect("conditional update");
    assert_eq!(
        after,
        item(json!({"pk": "UP", "sk": "1", "b": {"k": [1]}, "n": -3})),
        "updates: all new"
    );
    let r = s
        .update(&k, Update::new().set("c", 1), Some(Cond::eq("n", 99)))
        .await;
    match r {
        Err(StoreError::ConditionFailed { current }) => assert_eq!(current, Some(after.clone())),
        other => panic!("updates: expected ConditionFailed, got {other:?}"),
    }
    let r = s
        .update(
            &Key::new("UP", "missing"),
            Update::new().set("c", 1),
            Some(Cond::present()),
        )
        .await;
    assert!(
        matches!(r, Err(StoreError::ConditionFailed { current: None })),
        "updates: missing item: {r:?}"
    );
    assert_eq!(
        s.get(&Key::new("UP", "missing")).await.unwrap(),
        None,
        "a failed update writes nothing"
    );
}

pub async fn deletes(s: Arc<dyn Store>) {
    let it = item(json!({"pk": "DEL", "sk": "1", "v": 1}));
    s.put(it.clone(), None).await.unwrap();
    let r = s
        .delete(&Key::new("DEL", "1"), Some(Cond::eq("v", 2)))
        .await;
    assert!(
        matches!(r, Err(StoreError::ConditionFailed { .. })),
        "deletes: condition: {r:?}"
    );
    assert_eq!(
        s.delete(&Key::new("DEL", "1"), Some(Cond::present()))
            .await
            .unwrap(),
        Some(it),
        "deletes: returns old"
    );
    assert_eq!(s.get(&Key::new("DEL", "1")).await.unwrap(), None);
    assert_eq!(
        s.delete(&Key::new("DEL", "1"), None).await.unwrap(),
        None,
        "deletes: missing is fine"
    );
    let r = s.delete(&Key::new("DEL", "1"), Some(Cond::present())).await;
    assert!(
        matches!(r, Err(StoreError::ConditionFailed { current: None })),
        "deletes: present on missing: {r:?}"
    );
}

pub async fn transactions_are_all_or_nothing(s: Arc<dyn Store>) {
    s.put(item(json!({"pk": "TX", "sk": "taken"})), None)
        .await
        .unwrap();
    s.put(item(json!({"pk": "TX", "sk": "counter", "n": 1})), None)
        .await
        .unwrap();
    let writes = vec![
        Write::put_new(item(json!({"pk": "TX", "sk": "a"}))),
        Write::Update {
            key: Key::new("TX", "counter"),
            update: Update::new().add("n", 1),
            cond: None,
        },
        Write::put_new(item(json!({"pk": "TX", "sk": "taken", "by": "me"}))),
        Write::Check {
            key: Key::new("TX", "missing"),
            cond: Cond::absent(),
        },
    ];
    match s.transact(writes).await {
        Err(e @ StoreError::TransactionCanceled { .. }) => {
            assert!(
                e.failed_at(2) && !e.failed_at(0) && !e.failed_at(1) && !e.failed_at(3),
                "transactions: failed index: {e:?}"
            );
        }
        other => panic!("transactions: expected TransactionCanceled, got {other:?}"),
    }
    assert_eq!(
        s.get(&Key::new("TX", "a")).await.unwrap(),
        None,
        "transactions: nothing half-written"
    );
    assert_eq!(
        s.get(&Key::new("TX", "counter")).await.unwrap().unwrap()["n"],
        json!(1)
    );
    assert_eq!(
        s.get(&Key::new("TX", "taken"))
            .await
            .unwrap()
            .unwrap()
            .get("by"),
        None
    );
    s.transact(vec![
        Write::put_new(item(json!({"pk": "TX", "sk": "a"}))),
        Write::Update {
            key: Key::new("TX", "counter"),
            update: Update::new().add("n", 1),
            cond: Some(Cond::eq("n", 1)),
        },
        Write::Delete {
            key: Key::new("TX", "taken"),
            cond: Some(Cond::present()),
        },
        Write::Check {
            key: Key::new("TX", "missing"),
            cond: Cond::absent(),
        },
    ])
    .await
    .expect("transactions: a good transaction commits");
    assert!(s.get(&Key::new("TX", "a")).await.unwrap().is_some());
    assert_eq!(
        s.get(&Key::new("TX", "counter")).await.unwrap().unwrap()["n"],
        json!(2)
    );
    assert_eq!(s.get(&Key::new("TX", "taken")).await.unwrap(), None);
}

pub async fn transactions_refuse_two_writes_on_one_item(s: Arc<dyn Store>) {
    let r = s
        .transact(vec![
            Write::put(item(json!({"pk": "TX2", "sk": "x"}))),
            Write::Delete {
                key: Key::new("TX2", "x"),
                cond: None,
            },
        ])
        .await;
    assert!(
        matches!(r, Err(StoreError::Invalid(_))),
        "two writes on one item: {r:?}"
    );
    assert_eq!(s.get(&Key::new("TX2", "x")).await.unwrap(), None);
}

pub async fn queries_by_prefix_range_order_and_page(s: Arc<dyn Store>) {
    for sk in ["A#1", "A#2", "A#3", "B#1", "B#2", "C"] {
        s.put(item(json!({"pk": "Q", "sk": sk})), None)
            .await
            .unwrap();
    }
    s.put(item(json!({"pk": "Q2", "sk": "A#9"})), None)
        .await
        .unwrap();
    let q = |sort| Query::partition(Index::Table, "Q").sort(sort);
    let got = s.query(&q(SortKey::BeginsWith("A#".into()))).await.unwrap();
    assert_eq!(sks(&got.items), ["A#1", "A#2", "A#3"], "begins_with");
    let got = s
        .query(&q(SortKey::Between("A#2".into(), "B#1".into())))
        .await
        .unwrap();
    assert_eq!(sks(&got.items), ["A#2", "A#3", "B#1"], "between");
    let got = s.query(&q(SortKey::Any).descending()).await.unwrap();
    assert_eq!(
        sks(&got.items),
        ["C", "B#2", "B#1", "A#3", "A#2", "A#1"],
        "descending"
    );
    let got = s.query(&q(SortKey::Gt("B#1".into()))).await.unwrap();
    assert_eq!(sks(&got.items), ["B#2", "C"], "gt");
    let got = s.query(&q(SortKey::Le("A#2".into()))).await.unwrap();
    assert_eq!(sks(&got.items), ["A#1", "A#2"], "le");
    // Paging: every item once, in order.
    for descending in [false, true] {
        let mut seen = Vec::new();
        let mut cursor = None;
        loop {
            let mut query = q(SortKey::Any).limit(4).start_after(cursor.take());
            if descending {
                query = query.descending();
            }
            let page = s.query(&query).await.unwrap();
            assert!(page.items.len() <= 4);
            seen.extend(sks(&page.items));
            match page.next {
                Some(n) => cursor = Some(n),
                None => break,
            }
        }
        let mut want = vec!["A#1", "A#2", "A#3", "B#1", "B#2", "C"];
        if descending {
            want.reverse();
        }
        assert_eq!(seen, want, "paging (descending: {descending})");
    }
    let empty = s
        .query(&Query::partition(Index::Table, "Q-none"))
        .await
        .unwrap();
    assert!(empty.items.is_empty() && empty.next.is_none());
}

pub async fn sparse_secondary_indexes(s: Arc<dyn Store>) {
    s.put(
        item(json!({"pk": "G#1", "sk": "x", "gsi1pk": "IDX", "gsi1sk": "2026-01-02"})),
        None,
    )
    .await
    .unwrap();
    s.put(
        item(json!({"pk": "G#2", "sk": "x", "gsi1pk": "IDX", "gsi1sk": "2026-01-01"})),
        None,
    )
    .await
    .unwrap();
    s.put(
        item(json!({"pk": "G#3", "sk": "x", "gsi1pk": "OTHER", "gsi1sk": "2026-01-01"})),
        None,
    )
    .await
    .unwrap();
    s.put(item(json!({"pk": "G#4", "sk": "x"})), None)
        .await
        .unwrap();
    s.put(
        item(json!({"pk": "G#5", "sk": "x", "gsi2pk": "IDX", "gsi2sk": "a"})),
        None,
    )
    .await
    .unwrap();
    let got = s
        .query(&Query::partition(Index::Gsi1, "IDX"))
        .await
        .unwrap();
    let pks: Vec<&str> = got
        .items
        .iter()
        .map(|i| i["pk"].as_str().unwrap())
        .collect();
    assert_eq!(pks, ["G#2", "G#1"], "gsi1 order by its sort key");
    let got = s
        .query(&Query::partition(Index::Gsi2, "IDX"))
        .await
        .unwrap();
    assert_eq!(got.items.len(), 1, "gsi2 is separate");
    // Leaving the index.
    s.update(
        &Key::new("G#1", "x"),
        Update::new().remove("gsi1pk").remove("gsi1sk"),
        None,
    )
    .await
    .unwrap();
    let got = s
        .query(&Query::partition(Index::Gsi1, "IDX").sort(SortKey::BeginsWith("2026".into())))
        .await
        .unwrap();
    assert_eq!(
        got.items.len(),
        1,
        "an item without index keys leaves the index"
    );
    // Paging on an index.
    for i in 0..5 {
        s.put(
            item(json!({"pk": format!("GP#{i}"), "sk": "x", "gsi1pk": "PAGED", "gsi1sk": "same"})),
            None,
        )
        .await
        .unwrap();
    }
    let mut seen = 0;
    let mut cursor = None;
    loop {
        let page = s
            .query(
                &Query::partition(Index::Gsi1, "PAGED")
                    .limit(2)
                    .start_after(cursor.take()),
            )
            .await
            .unwrap();
        seen += page.items.len();
        match page.next {
            Some(n) => cursor = Some(n),
            None => break,
        }
    }
    assert_eq!(seen, 5, "paging an index with equal sort keys");
}

pub async fn batch_get(s: Arc<dyn Store>) {
    s.put(item(json!({"pk": "BG", "sk": "1"})), None)
        .await
        .unwrap();
    s.put(item(json!({"pk": "BG", "sk": "2"})), None)
        .await
        .unwrap();
    let keys = [
        Key::new("BG", "1"),
        Key::new("BG", "2"),
        Key::new("BG", "3"),
        Key::new("BG", "1"),
    ];
    let mut got = sks(&s.batch_get(&keys).await.unwrap());
    got.sort();
    assert_eq!(got, ["1", "2"], "batch_get");
    assert!(s.batch_get(&[]).await.unwrap().is_empty());
}

/// The limits of the `Store` contract: both adapters refuse an item over 400 KB, one nested
/// deeper than 32 levels and a batch read of more than 100 keys, alone or in a transaction,
/// as `Invalid` and before anything is written.
pub async fn dynamodb_limits_are_refused_alike(s: Arc<dyn Store>) {
    use admit_shared::ports::store::{MAX_BATCH_GET_KEYS, MAX_ITEM_BYTES, MAX_NESTING};
    let big = item(json!({"pk": "LIM", "sk": "big", "v": "x".repeat(MAX_ITEM_BYTES)}));
    let mut deep = json!("leaf");
    for _ in 0..=MAX_NESTING {
        deep = json!([deep]);
    }
    let deep = item(json!({"pk": "LIM", "sk": "deep", "v": deep}));
    for it in [big, deep] {
        let got = s.put(it.clone(), None).await;
        assert!(matches!(got, Err(StoreError::Invalid(_))), "put: {got:?}");
        let ok = item(json!({"pk": "LIM", "sk": "ok"}));
        let got = s.transact(vec![Write::put(ok), Write::put(it)]).await;
        assert!(
            matches!(got, Err(StoreError::Invalid(_))),
            "transact: {got:?}"
        );
        assert!(s.get(&Key::new("LIM", "ok")).await.unwrap().is_none());
    }
    let keys: Vec<Key> = (0..=MAX_BATCH_GET_KEYS)
        .map(|i| Key::new("LIM", i.to_string()))
        .collect();
    let got = s.batch_get(&keys).await;
    assert!(matches!(got, Err(StoreError::Invalid(_))), "batch_get");
}

pub async fn counters_are_atomic(s: Arc<dyn Store>) {
    let k = Key::new("COUNTER#conformance", "COUNTER");
    assert_eq!(s.increment(&k, "value", 1).await.unwrap(), 1);
    let mut tasks = Vec::new();
    for _ in 0..10 {
        let s = s.clone();
        let k = k.clone();
        tasks.push(tokio::spawn(async move {
            s.increment(&k, "value", 1).await.unwrap()
        }));
    }
    let mut got = Vec::new();
    for t in tasks {
        got.push(t.await.unwrap());
    }
    got.sort();
    assert_eq!(
        got,
        (2..=11).collect::<Vec<i64>>(),
        "every increment saw a distinct value"
    );
}

pub async fn one_winner_per_guard(s: Arc<dyn Store>) {
    let mut tasks = Vec::new();
    for i in 0..8 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            s.transact(vec![
                Write::put_new(item(json!({"pk": "RACE", "sk": "guard", "winner": i}))),
                Write::put_new(item(json!({"pk": "RACE", "sk": format!("record#{i}")}))),
            ])
            .await
        }));
    }
    let mut wins = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(()) => wins += 1,
            Err(e) => assert!(
                e.is_condition_failure() || e.is_transient(),
                "race loser: {e:?}"
            ),
        }
    }
    assert_eq!(wins, 1, "exactly one transaction holds the guard");
    let records = s
        .query(&Query::partition(Index::Table, "RACE").sort(SortKey::BeginsWith("record#".into())))
        .await
        .unwrap();
    assert_eq!(records.items.len(), 1, "losers left nothing behind");
}
