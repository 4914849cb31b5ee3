//! Scale: what one tenant does touches nothing another tenant's requests write (the keys every
//! tenant used to share are spread or gone), and one tenant's burst of concurrent invitations
//! never fails on one hot item (docs/scale.md).

use admit_shared::ports::store::Store;
use admit_shared::records::limit::{self, Subject};
use admit_shared::usecases::provision;
use admit_shared::App;
use admit_tests::heat::{touched_by, ConflictStore, HeatStore};
use admit_tests::{route, small_company, Backend, TestApp};
use serde_json::json;
use std::sync::Arc;

const PW: &str = "Scale-pass-2026";

async fn login(app: &App, email: &str) -> String {
    let body = json!({"emailAddress": email, "password": PW}).to_string();
    let (status, got) = route(app, "POST", "/rest/user/login", &[], Some(&body)).await;
    assert_eq!(status, 200, "{got}");
    got["authToken"].as_str().unwrap().to_string()
}

/// One tenant's day: an admin signs in and invites someone, a person self-registers with the
/// app key, a member is put in a team with a push notification; then the dispatcher delivers
/// what they queued.
async fn a_tenant_s_requests(
    app: &App,
    heat: &HeatStore,
    tenant: u64,
    (admin, member_id, team): (&str, u64, u64),
    (admin_key, app_key): (&str, &str),
) {
    heat.tenant(Some(tenant));
    let session = login(app, admin).await;
    let invite = json!({"companyId": tenant, "contact": {"firstname": "In", "lastname": "Vitee",
        "email1": format!("invitee@t{tenant}.example")}})
    .to_string();
    let got = route(
        app,
        "POST",
        "/rest/user/miinvite",
        &[("x-nextinteract-authtoken", session.as_str())],
        Some(&invite),
    )
    .await;
    assert_eq!(got.0, 200, "{}", got.1);
    let register = json!({"version": 2, "apiKey": app_key, "password": PW,
        "emailAddress": format!("self@t{tenant}.example"), "firstName": "Se", "lastName": "Lf"})
    .to_string();
    let got = route(
        app,
        "POST",
        "/rest/user/mi/selfregister",
        &[],
        Some(&register),
    )
    .await;
    assert_eq!(got.0, 200, "{}", got.1);
    let assign =
        json!({"userId": member_id, "teams": [team], "sendNotification": true}).to_string();
    let got = route(
        app,
        "POST",
        "/rest/company/membership/teams/assign",
        &[("x-nextinteract-company-api-key", admin_key)],
        Some(&assign),
    )
    .await;
    assert_eq!(got.0, 200, "{}", got.1);
    // The dispatcher's work for each message counts as the request's that queued it.
    for m in admit_shared::usecases::outbox::pending(app).await.unwrap() {
        let queued = heat.queued_by(&format!("OUTBOX#{}", m.outbox_id));
        heat.weigh(queued.unwrap_or_default());
        admit_shared::usecases::outbox::deliver(app, &m.outbox_id)
            .await
            .unwrap();
    }
    heat.tenant(None);
}

/// Two tenants' invitations, registrations, sign-ins and notifications (and their delivery)
/// write and read no common item or index partition, but for the outbox index's shards: 128
/// partitions every tenant's messages are spread over. (The id counters are written once a
/// block of ids: the second tenant's ids here come from the first's block, in memory.)
async fn two_tenants_share_no_partition(backend: Backend) {
    let t = TestApp::new(backend).await;
    let heat = HeatStore::new(t.app.store.clone());
    let app = App::new(
        heat.clone() as Arc<dyn Store>,
        t.app.mailer.clone(),
        t.app.pusher.clone(),
        t.clock.clone(),
        t.app.config.clone(),
    )
    .with_events(t.app.events.clone());
    let mut tenants = Vec::new();
    for (n, name) in [(1u64, "One"), (2, "Two")] {
        let admin = format!("admin@t{n}.example");
        let member = format!("member@t{n}.example");
        let keys = small_company(&app, name, &[], (&admin, &member, PW)).await;
        let company = admit_shared::domain::Id::new(n).unwrap();
        let team = provision::create_team(&app, company, "Crew", true)
            .await
            .unwrap()
            .team_id
            .get();
        let member_id = admit_shared::records::user::find_by_email(
            app.store.as_ref(),
            &admit_shared::domain::EmailAddress::parse(&member).unwrap(),
        )
        .await
        .unwrap()
        .unwrap()
        .user_id
        .get();
        tenants.push((n, admin, member_id, team, keys));
    }
    admit_tests::send_pending(&app).await;
    heat.charging(true);
    for (n, admin, member_id, team, (admin_key, app_key)) in &tenants {
        let who = (admin.as_str(), *member_id, *team);
        a_tenant_s_requests(&app, &heat, *n, who, (admin_key, app_key)).await;
    }
    heat.charging(false);
    let ledger = heat.take();
    let one = touched_by(&ledger, 1);
    let two = touched_by(&ledger, 2);
    assert!(
        one.iter().any(|p| p.key.starts_with("OUTBOX#PENDING#")),
        "the first tenant's messages were queued: {one:?}"
    );
    let spread = ["OUTBOX#PENDING#", "OUTBOX#DONE#", "OUTBOX#FAILED#"];
    let shared: Vec<_> = one
        .intersection(&two)
        .filter(|p| !spread.iter().any(|s| p.key.starts_with(s)))
        .collect();
    assert!(
        shared.is_empty(),
        "partitions both tenants touched: {shared:?}"
    );
}
admit_tests::both_backends!(two_tenants_share_no_partition);

/// Sixteen invitations of one admin at once, on a store that fails a transaction touching an
/// item another open transaction touches (as DynamoDB does): each is sent (200), none fails
/// with 503, and the sender's hour counts all sixteen. The counters they all charge are split
/// into slots, and a transaction that lost a race is tried again.
async fn a_burst_of_one_tenant_s_invitations_never_conflicts_out(backend: Backend) {
    let t = TestApp::new(backend).await;
    let (admin, member) = ("admin@burst.example", "member@burst.example");
    small_company(&t.app, "Burst", &[], (admin, member, PW)).await;
    let conflicts = ConflictStore::new(t.app.store.clone(), std::time::Duration::from_millis(20));
    let app = App {
        store: conflicts.clone(),
        ..t.app.clone()
    };
    let session = login(&app, admin).await;
    let calls = (0..16).map(|i| {
        let app = app.clone();
        let session = session.clone();
        tokio::spawn(async move {
            let body = json!({"companyId": 1, "contact": {"firstname": "B", "lastname": "U",
                "email1": format!("b{i}@burst.example")}})
            .to_string();
            let headers = [("x-nextinteract-authtoken", session.as_str())];
            route(&app, "POST", "/rest/user/miinvite", &headers, Some(&body)).await
        })
    });
    let answers = futures_util::future::join_all(calls).await;
    for a in answers {
        let (status, body) = a.unwrap();
        assert_eq!(status, 200, "{body}");
    }
    assert!(
        conflicts.conflicts() > 0,
        "the burst raced for some item: the test exercises the retry"
    );
    let used = limit::used(
        app.store.as_ref(),
        &Subject::Sender(admit_shared::domain::Id::new(1).unwrap()),
        app.config.limits.sender_per_hour,
        app.clock.now(),
    )
    .await
    .unwrap();
    assert_eq!(used, 16, "every invitation counted once");
}

/// On the embedded store only: the conflict model is the store in front of it, and the
/// emulator's own handling of concurrent transactions (docs/reliability.md) would add its
/// quirks to the model's.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_burst_of_one_tenant_s_invitations_never_conflicts_out_embedded() {
    a_burst_of_one_tenant_s_invitations_never_conflicts_out(Backend::Embedded).await;
}

/// The activity report's pages by cursor: the same rows as by page number, the first page's
/// count, and a deep page read without counting the range again (fewer read units than the
/// same page by number). A cursor the report did not return is a bad request.
async fn report_pages_follow_a_cursor(backend: Backend) {
    use admit_shared::domain::Id;
    let t = TestApp::new(backend).await;
    let admin = "admin@pages.example";
    small_company(&t.app, "Pages", &[], (admin, "member@pages.example", PW)).await;
    let (site, user) = (Id::new(1).unwrap(), Id::new(2).unwrap());
    let now = t.app.clock.now();
    let times: Vec<_> = (0..250i64)
        .map(|i| now - chrono::Duration::minutes(i + 1))
        .collect();
    admit_tests::seed_logins(t.app.store.as_ref(), site, &[user], &times).await;
    let heat = HeatStore::new(t.app.store.clone());
    let app = App {
        store: heat.clone(),
        ..t.app.clone()
    };
    let bearer = format!("Bearer {}", login(&app, admin).await);
    let ts = |d: i64| admit_shared::domain::time::format(now + chrono::Duration::days(d));
    let ask = |extra: serde_json::Value| {
        let mut body = json!({"userIds": [], "dateFrom": ts(-1), "dateTo": ts(1), "pageSize": 100});
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        let app = app.clone();
        let bearer = bearer.clone();
        let heat = heat.clone();
        async move {
            heat.charging(true);
            let got = route(
                &app,
                "POST",
                "/api/rest/v1/management/user/activity",
                &[("authorization", bearer.as_str())],
                Some(&body.to_string()),
            )
            .await;
            heat.charging(false);
            heat.take();
            let read = heat.raw().1;
            (got, read)
        }
    };
    let rows = |v: &serde_json::Value| v["rows"].as_array().unwrap().clone();
    let ((s1, first), _) = ask(json!({})).await;
    assert_eq!(s1, 200, "{first}");
    // The seeded 250 and the admin's own sign-in.
    assert_eq!(first["totalRecords"], 251);
    let cursor = first["nextCursor"].as_str().unwrap().to_string();
    let before = heat.raw().1;
    let ((s2, by_number), after_number) = ask(json!({"page": 2})).await;
    let ((s3, by_cursor), after_cursor) = ask(json!({"cursor": cursor})).await;
    assert_eq!((s2, s3), (200, 200));
    assert_eq!(
        rows(&by_cursor),
        rows(&by_number),
        "the cursor's page is page 2"
    );
    assert_eq!(
        by_cursor["totalRecords"], 251,
        "the first page's count goes on"
    );
    assert!(
        after_cursor - after_number < after_number - before,
        "page 2 by cursor reads less than by number ({} against {})",
        after_cursor - after_number,
        after_number - before
    );
    let last = by_cursor["nextCursor"].as_str().unwrap().to_string();
    let ((_, third), _) = ask(json!({"cursor": last})).await;
    assert_eq!(rows(&third).len(), 51);
    assert!(third.get("nextCursor").is_none(), "the last page has none");
    for bad in [
        json!({"cursor": "zz"}),
        json!({"cursor": cursor, "page": 2}),
    ] {
        let ((status, body), _) = ask(bad).await;
        assert_eq!(status, 400, "{body}");
    }
}
admit_tests::both_backends!(report_pages_follow_a_cursor);

/// An admin leaving a company with many members: the other admins are found in the company's
/// admins index, not by reading every member (the leave reads a few units of the company's
/// partition, whatever its size), and the last admin still cannot leave.
async fn an_admin_leaves_without_reading_every_member(backend: Backend) {
    use admit_shared::records::Role;
    use admit_shared::usecases::provision::NewUser;
    let t = TestApp::new(backend).await;
    let (admin, second) = ("admin@big.example", "second@big.example");
    small_company(&t.app, "Big", &[], (admin, "member@big.example", PW)).await;
    let company = admit_shared::domain::Id::new(1).unwrap();
    let user = NewUser {
        email: second,
        password: PW,
        first_name: "Se",
        last_name: "Cond",
        membership: Some((company, Role::Admin)),
    };
    provision::create_user(&t.app, user).await.unwrap();
    // Three hundred plain members (memberships only: the leave never reads their accounts).
    let now = t.app.clock.now();
    let members: Vec<_> = (1000..1300u64)
        .map(|u| {
            let m = admit_shared::records::Membership::new_member(
                company,
                admit_shared::domain::Id::new(u).unwrap(),
                Vec::new(),
                now,
            );
            admit_shared::records::put_new(&m)
        })
        .collect();
    for chunk in members.chunks(100) {
        t.app.store.transact(chunk.to_vec()).await.unwrap();
    }
    let heat = HeatStore::new(t.app.store.clone());
    let app = App {
        store: heat.clone(),
        ..t.app.clone()
    };
    let leave = |email: &'static str| {
        let app = app.clone();
        let heat = heat.clone();
        async move {
            let bearer = format!("Bearer {}", login(&app, email).await);
            heat.take();
            heat.charging(true);
            let got = route(
                &app,
                "DELETE",
                "/api/users/me/businesses/1",
                &[("authorization", bearer.as_str())],
                None,
            )
            .await;
            heat.charging(false);
            let ledger = heat.take();
            let company_reads: f64 = ledger
                .iter()
                .filter(|(p, _)| p.index == "table" && p.key == "COMPANY#1")
                .map(|(_, h)| h.sampled.1)
                .sum();
            (got, company_reads)
        }
    };
    let ((status, body), reads) = leave(admin).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        reads < 10.0,
        "the leave read {reads} units of the company's partition (every member is 20 or more)"
    );
    let ((status, body), _) = leave(second).await;
    assert_eq!(status, 403, "the last admin stays: {body}");
}
admit_tests::both_backends!(an_admin_leaves_without_reading_every_member);
