//! The Store conformance suite against both adapters.

use admit_shared::ports::store::embedded::EmbeddedStore;
use admit_tests::{conformance, emulator_store, temp_dir};
use std::sync::Arc;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_store_in_memory_conforms() {
    let store = Arc::new(EmbeddedStore::in_memory());
    conformance::run(store.clone()).await;
    conformance::run_concurrent_transactions(store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_store_on_disk_conforms_and_keeps_it_after_a_restart() {
    let dir = temp_dir("conformance");
    {
        let store = Arc::new(EmbeddedStore::open(&dir).unwrap());
        conformance::run(store.clone()).await;
        conformance::run_concurrent_transactions(store).await;
    }
    let reopened = EmbeddedStore::open(&dir).unwrap();
    use admit_shared::ports::store::{Key, Store};
    assert!(reopened.get(&Key::new("TX", "a")).await.unwrap().is_some());
    assert_eq!(
        reopened
            .get(&Key::new("TX", "counter"))
            .await
            .unwrap()
            .unwrap()["n"],
        serde_json::json!(2)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamodb_store_conforms_on_the_emulator() {
    let (store, _) = emulator_store().await;
    conformance::run(store).await;
}
