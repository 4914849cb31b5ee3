//! The Store conformance suite against both adapters: every case on its own, on a fresh store
//! of each (the embedded store in memory and on disk, DynamoDB on the emulator).

use admit_shared::ports::store::embedded::EmbeddedStore;
use admit_tests::{conformance, emulator_store, temp_dir};
use std::sync::Arc;

mod embedded_in_memory {
    use super::*;
    admit_tests::conformance_cases!(Arc::new(EmbeddedStore::in_memory()));

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn one_winner_per_guard() {
        conformance::run_concurrent_transactions(Arc::new(EmbeddedStore::in_memory())).await;
    }
}

mod embedded_on_disk {
    use super::*;
    admit_tests::conformance_cases!(Arc::new(
        EmbeddedStore::open(&temp_dir("conformance")).unwrap()
    ));

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn one_winner_per_guard() {
        let store = EmbeddedStore::open(&temp_dir("conformance")).unwrap();
        conformance::run_concurrent_transactions(Arc::new(store)).await;
    }
}

mod dynamodb_on_the_emulator {
    use super::*;
    admit_tests::conformance_cases!(emulator_store().await.0);
}

/// Everything every case wrote is there after the embedded store is opened again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_store_on_disk_keeps_it_after_a_restart() {
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
