//! Round trips: every endpoint's successful request, with the calls it makes to the store
//! counted (`admit_tests::trips::CountingStore`), held to the budget docs/performance.md argues
//! for it: calls in all, and rounds (calls that run one after another; reads under `join`
//! share one). A change that adds a store call to an endpoint must raise its budget here and
//! say why there.

use admit_shared::App;
use admit_tests::trips::{CountingStore, Trips};
use admit_tests::walk::{self, InProcess, Step, Watch};
use admit_tests::{gateway_request, Backend, TestApp};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

/// Each endpoint's budget: (calls, rounds). docs/performance.md, "Round trips", argues each.
const BUDGETS: &[(&str, usize, usize)] = &[
    ("login_user", 6, 6),
    ("logout_user", 5, 5),
    ("get_public_mi_teams", 3, 3),
    ("assign_member_to_teams", 8, 8),
    ("get_member_profile", 6, 4),
    ("list_notifications", 3, 3),
    ("mark_notifications_read", 3, 3),
    ("register_device", 5, 5),
    ("remove_device", 4, 4),
    ("self_register_mi_user", 7, 7),
    ("get_email_verification", 2, 2),
    ("verify_email", 9, 9),
    ("request_password_reset", 4, 4),
    ("reset_password", 6, 6),
    ("invite_mi_user", 11, 11),
    ("get_mi_invitation", 5, 5),
    ("accept_mi_invitation", 12, 12),
    ("invite_platform_users", 8, 7),
    ("my_businesses", 4, 4),
    ("get_business_settings", 5, 3),
    ("put_business_settings", 9, 5),
    ("list_invitations", 6, 4),
    ("resend_invitation", 10, 8),
    ("revoke_invitation", 8, 6),
    ("invite_site_users", 11, 11),
    ("user_activity_report", 23, 7),
];

/// The store calls each request of the walk made, kept under its endpoint's name.
struct Counted {
    counter: Arc<CountingStore>,
    seen: Vec<(&'static str, Trips, Vec<&'static str>)>,
}

impl Watch for Counted {
    fn before(&mut self, _: &Step) {
        self.counter.take();
    }

    fn after(&mut self, step: &Step, _: Duration) {
        let (trips, ops) = self.counter.take();
        self.seen.push((step.endpoint, trips, ops));
    }
}

async fn every_endpoint_within_its_budget(backend: Backend) {
    let t = TestApp::new(backend).await;
    let (admin_key, app_key) = walk::company(&t).await;
    let counter = CountingStore::new(t.app.store.clone());
    let mut w = InProcess {
        app: App {
            store: counter.clone(),
            ..t.app.clone()
        },
        watch: Counted {
            counter,
            seen: Vec::new(),
        },
    };
    walk::every_endpoint(&t, &admin_key, &app_key, &mut w).await;

    // Twenty addresses, one of them a member's, cost what one new address does plus the one
    // round that reads the accounts some addresses hold: the reads are batched, not one by one.
    let login = json!({"emailAddress": walk::ADMIN, "password": walk::PW});
    let (_, body) = w.call("POST", "/rest/user/login", &[], Some(login)).await;
    let bearer = format!("Bearer {}", body["authToken"].as_str().unwrap());
    let mut addresses: Vec<String> = (1..20).map(|i| format!("many{i}@trips.example")).collect();
    addresses.push(walk::MEMBER.to_string());
    w.call(
        "POST",
        "/api/users/invitations",
        &[("authorization", bearer.as_str())],
        Some(json!({"EmailAddresses": addresses})),
    )
    .await;
    let (_, many, ops) = w.watch.seen.pop().unwrap();
    let one = w
        .watch
        .seen
        .iter()
        .find(|(name, _, _)| *name == "invite_platform_users")
        .map(|(_, trips, _)| *trips)
        .unwrap();
    // Twenty addresses spread their count over the sender's slots as if empty; when one of
    // those slots already holds some of the hour (which slot a process charges next depends
    // on what else it charged), the commit reads the slots (one round) and tries once more
    // (one more): two rounds, whatever the number of addresses.
    let retried = ops.windows(2).any(|w| w == ["transact", "get"]);
    let (calls, extra) = if retried {
        (many.calls, 2)
    } else {
        (one.calls + 1, 0)
    };
    assert_eq!(
        (many.calls, many.rounds),
        (calls, one.rounds + 1 + extra),
        "twenty addresses: {}",
        ops.join(" ")
    );

    let mut report = String::new();
    let mut over = Vec::new();
    for (name, trips, ops) in &w.watch.seen {
        report.push_str(&format!(
            "{name}: {} calls, {} rounds: {}\n",
            trips.calls,
            trips.rounds,
            ops.join(" ")
        ));
        match BUDGETS.iter().find(|(n, _, _)| n == name) {
            Some((_, calls, rounds)) if trips.calls <= *calls && trips.rounds <= *rounds => {}
            Some((_, calls, rounds)) => over.push(format!(
                "{name}: {} calls, {} rounds over its budget of {calls}, {rounds}",
                trips.calls, trips.rounds
            )),
            None => over.push(format!("{name} has no budget")),
        }
    }
    println!("{report}");
    assert!(over.is_empty(), "{}\n{report}", over.join("\n"));
    sized_for_hashing(&w.watch.seen);
}

/// The functions that hash or check a password are those given the memory Argon2id needs
/// (docs/performance.md, "Memory and hashing"), and no other: every function that hashed in
/// this test binary so far, and each walked function that did not.
fn sized_for_hashing(walked: &[(&'static str, Trips, Vec<&'static str>)]) {
    let hashed = admit_shared::usecases::accounts::functions_that_hashed();
    let memory = |name: &str| {
        admit_functions::ENDPOINTS
            .iter()
            .find(|e| e.name == name)
            .map(|e| e.memory)
            .unwrap()
    };
    for name in &hashed {
        assert_eq!(
            memory(name),
            admit_functions::HASHING_MEMORY,
            "{name} hashes passwords: give it HASHING_MEMORY"
        );
    }
    for (name, _, _) in walked {
        if !hashed.contains(name) {
            assert!(
                memory(name) < admit_functions::HASHING_MEMORY,
                "{name} hashes no password: it needs less than HASHING_MEMORY"
            );
        }
    }
}
admit_tests::both_backends!(every_endpoint_within_its_budget);

/// The three pages that set or check a password (their forms) hash, and are sized for it.
async fn the_password_pages_are_sized_for_hashing(backend: Backend) {
    let t = TestApp::new(backend).await;
    let (_, app_key) = walk::company(&t).await;
    let app = &t.app;
    let mut door = InProcess {
        app: app.clone(),
        watch: (),
    };
    let form = |path: &'static str, fields: Vec<(&'static str, String)>| {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        let headers = [("content-type", "application/x-www-form-urlencoded")];
        let req = gateway_request("POST", path, &headers, Some(&body));
        let (endpoint, _, _) = admit_functions::find("POST", path).unwrap();
        async move {
            let resp = admit_functions::dispatch(endpoint.name, app, req)
                .await
                .unwrap();
            (endpoint.name, resp.status().as_u16())
        }
    };
    let pat = "pat@trips.example";
    let got = door
        .call(
            "POST",
            "/rest/user/mi/selfregister",
            &[],
            Some(
                json!({"version": 2, "apiKey": app_key, "emailAddress": pat, "password": walk::PW,
            "firstName": "Pat", "lastName": "Kim"}),
            ),
        )
        .await;
    assert_eq!(got.0, 200, "{}", got.1);
    let verify = walk::token(&t, pat, "verify?token=").await;
    let verified = form(
        "/account/verify",
        vec![
            ("token", verify),
            ("password", walk::PW.into()),
            ("newPassword", walk::PW.into()),
            ("confirm", walk::PW.into()),
        ],
    )
    .await;
    let got = door
        .call(
            "POST",
            "/rest/user/password/reset",
            &[],
            Some(json!({"emailAddress": pat})),
        )
        .await;
    assert!(got.0 < 300, "{}", got.1);
    let reset = walk::token(&t, pat, "token=").await;
    let new = "Trips-pass-2028".to_string();
    let reset = form(
        "/account/password/reset",
        vec![
            ("token", reset),
            ("password", new.clone()),
            ("confirm", new),
        ],
    )
    .await;
    let admin = admit_tests::auth_token(app, walk::ADMIN, walk::PW).await;
    let got = door
        .call(
            "POST",
            "/rest/user/miinvite",
            &[("x-nextinteract-authtoken", admin.as_str())],
            Some(
                json!({"companyId": 1, "contact": {"firstname": "Quinn", "lastname": "Ng",
            "email1": "quinn@trips.example"}, "inviteTeams": [{"teamId": 1}]}),
            ),
        )
        .await;
    assert!(got.0 < 300, "{}", got.1);
    let accept = walk::token(&t, "quinn@trips.example", "accept?token=").await;
    let accepted = form(
        admit_shared::usecases::invitations::ACCEPT_PAGE_PATH,
        vec![("token", accept), ("password", walk::PW.into())],
    )
    .await;
    let hashed = admit_shared::usecases::accounts::functions_that_hashed();
    for (name, status) in [verified, reset, accepted] {
        assert_eq!(status, 303, "{name}: its form did not go through");
        assert!(hashed.contains(&name), "{name} hashed no password");
        let memory = admit_functions::ENDPOINTS
            .iter()
            .find(|e| e.name == name)
            .map(|e| e.memory);
        assert_eq!(memory, Some(admit_functions::HASHING_MEMORY), "{name}");
    }
}
admit_tests::both_backends!(the_password_pages_are_sized_for_hashing);
