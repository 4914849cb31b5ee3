//! `admit-bench heat`: the real endpoints, in process on the embedded store behind a
//! `HeatStore`, driven by the target load of docs/scale.md in simulated seconds, and the
//! hottest partitions of the table and of each index it makes, per phase. Nothing is asserted.
//!
//! The load is sampled: each simulated second runs `scale` times the target's requests, and
//! every figure is divided by `scale` again, so a partition that all tenants write shows its
//! full rate and one tenant's keys show that tenant's share. Tenants are drawn from 200,000
//! companies whose sizes follow a Zipf law (the largest has 500,000 members, all together 50
//! million people), each request's tenant in proportion to its size.

use admit_shared::ports::clock::Clock;
use admit_shared::ports::store::Store;
use admit_shared::records::{ApiKeyType, Role};
use admit_shared::usecases::provision::{self, NewUser};
use admit_shared::App;
use admit_tests::heat::{hottest, totals, Heat, HeatStore, Partition, Weights};
use admit_tests::{Backend, TestApp};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

const PW: &str = "Heat-pass-2026";
const COMPANIES: usize = 200_000;
const LARGEST: f64 = 500_000.0;
const PEOPLE: f64 = 50_000_000.0;
/// The target's peak rates, a second.
const LOGINS: f64 = 5_000.0;
const INVITATIONS: f64 = 2_000.0;
const ACCEPTANCES: f64 = 1_000.0;
const REGISTRATIONS: f64 = 500.0;
/// One tenant inviting 100,000 people in an hour, ten addresses a request.
const ONBOARDING_PER_SECOND: f64 = 100_000.0 / 3_600.0;
const ONBOARDING_BATCH: usize = 10;
/// Half DynamoDB's per-partition limits: the headroom the design keeps.
const WRITE_CEILING: f64 = 500.0;
const READ_CEILING: f64 = 1_500.0;

pub struct HeatOpts {
    pub scale: f64,
    pub seconds: usize,
    pub report_entries: usize,
}

/// A small deterministic generator (xorshift), so two runs draw the same load.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// Company sizes by rank: `LARGEST / rank^s`, with `s` such that they add up to `PEOPLE`; and
/// the cumulative shares requests are drawn from.
struct Zipf {
    /// Each tenant's share of the people, by rank from 1 (index 0).
    share: Vec<f64>,
    cumulative: Vec<f64>,
}

impl Zipf {
    fn new() -> Zipf {
        let total = |s: f64| -> f64 { (1..=COMPANIES).map(|r| LARGEST / (r as f64).powf(s)).sum() };
        let (mut lo, mut hi) = (0.1, 3.0);
        for _ in 0..60 {
            let mid = (lo + hi) / 2.0;
            if total(mid) > PEOPLE {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        let sizes: Vec<u64> = (1..=COMPANIES)
            .map(|r| (LARGEST / (r as f64).powf(lo)).round().max(1.0) as u64)
            .collect();
        let sum: f64 = sizes.iter().map(|&s| s as f64).sum();
        let share: Vec<f64> = sizes.iter().map(|&s| s as f64 / sum).collect();
        let mut acc = 0.0;
        let cumulative = share
            .iter()
            .map(|&p| {
                acc += p;
                acc
            })
            .collect();
        Zipf { share, cumulative }
    }

    /// A tenant's rank (from 1), drawn in proportion to its size.
    fn draw(&self, rng: &mut Rng) -> usize {
        let u = rng.unit();
        self.cumulative
            .partition_point(|&c| c < u)
            .min(COMPANIES - 1)
            + 1
    }
}

/// A tenant made on the store: its company, keys, an admin's session, its people.
struct Tenant {
    company: u64,
    app_key: String,
    admin_token: String,
    people: usize,
}

struct Bench {
    t: TestApp,
    heat: Arc<HeatStore>,
    app: App,
    rng: Rng,
    zipf: Zipf,
    tenants: HashMap<usize, Tenant>,
    addresses: usize,
}

/// One request of the load, with its tenant.
enum Call {
    Login(String),
    Invite(String),
    Accept(String),
    Register(String),
    Onboard(Vec<String>),
    Report(Value),
}

impl Call {
    fn kind(&self) -> &'static str {
        match self {
            Call::Login(_) => "login",
            Call::Invite(_) => "invite (inviteMIUser)",
            Call::Accept(_) => "accept",
            Call::Register(_) => "self-register",
            Call::Onboard(_) => "invite 10 (platform)",
            Call::Report(_) => "activity report",
        }
    }
}

impl Bench {
    async fn new(seed: u64) -> Bench {
        let t = TestApp::new(Backend::Embedded).await;
        let heat = HeatStore::new(t.app.store.clone());
        // Ids in blocks as a function takes them (`ADMIT_ID_BLOCK`'s default).
        let config = admit_shared::config::Config {
            id_block: 64,
            ..t.app.config.clone()
        };
        let app = App::new(
            heat.clone() as Arc<dyn Store>,
            t.app.mailer.clone(),
            t.app.pusher.clone(),
            t.clock.clone(),
            config,
        )
        .with_events(t.app.events.clone());
        Bench {
            t,
            heat,
            app,
            rng: Rng(seed | 1),
            zipf: Zipf::new(),
            tenants: HashMap::new(),
            addresses: 0,
        }
    }

    fn address(&mut self, rank: usize) -> String {
        self.addresses += 1;
        format!("p{}@t{rank}.heat.example", self.addresses)
    }

    fn peer(&mut self) -> std::net::SocketAddr {
        let n = self.rng.next();
        std::net::SocketAddr::from(([10, (n >> 16) as u8, (n >> 8) as u8, n as u8], 40_000))
    }

    async fn call(
        &mut self,
        method: &str,
        uri: &str,
        headers: &[(&str, &str)],
        body: &Value,
    ) -> (u16, Value) {
        let body = body.to_string();
        let event = admit_tests::gateway_event_from(method, uri, headers, Some(&body), self.peer());
        let (endpoint, _, _) = admit_functions::find(method, uri).expect("a route");
        let req = lambda_http::request::from_str(&event.to_string()).expect("a valid event");
        admit_tests::read(
            admit_functions::dispatch(endpoint.name, &self.app, req)
                .await
                .expect("a routed endpoint"),
        )
    }

    /// The tenant of `rank`, made (uncharged) the first time.
    async fn tenant(&mut self, rank: usize) -> &mut Tenant {
        if !self.tenants.contains_key(&rank) {
            let app = &self.app;
            let company = provision::create_company(app, &format!("Tenant {rank}"))
                .await
                .expect("a company")
                .company_id;
            let (_, app_key) = provision::create_api_key(app, company, ApiKeyType::App)
                .await
                .expect("an app key");
            let admin = format!("admin@t{rank}.heat.example");
            provision::create_user(
                app,
                NewUser {
                    email: &admin,
                    password: PW,
                    first_name: "Ada",
                    last_name: "Admin",
                    membership: Some((company, Role::Admin)),
                },
            )
            .await
            .expect("an admin");
            let login = json!({"emailAddress": admin, "password": PW});
            let (status, body) = self.call("POST", "/rest/user/login", &[], &login).await;
            assert_eq!(status, 200, "the admin signs in: {body}");
            let admin_token = body["authToken"].as_str().expect("a token").to_string();
            self.tenants.insert(
                rank,
                Tenant {
                    company: company.get(),
                    app_key,
                    admin_token,
                    people: 1,
                },
            );
        }
        self.tenants.get_mut(&rank).expect("made above")
    }

    /// A member of `rank` who can sign in (made uncharged): address and id.
    async fn member(&mut self, rank: usize) -> (String, u64) {
        let company = self.tenant(rank).await.company;
        let email = self.address(rank);
        let user = provision::create_user(
            &self.app,
            NewUser {
                email: &email,
                password: PW,
                first_name: "Mo",
                last_name: "Member",
                membership: Some((
                    admit_shared::domain::Id::new(company).expect("an id"),
                    Role::Member,
                )),
            },
        )
        .await
        .expect("a member");
        self.tenant(rank).await.people += 1;
        (email, user.user_id.get())
    }

    /// Delivers every pending message as the dispatcher would, one delivery per message (the
    /// stream's), charged to no tenant.
    async fn deliver(&mut self, fallback: f64) -> usize {
        let pending = admit_shared::records::outbox::pending(self.t.app.store.as_ref(), None, None)
            .await
            .expect("the pending messages");
        let now = self.t.clock.now();
        let mut n = 0;
        for m in pending {
            if admit_shared::domain::time::parse(&m.created_at).is_some_and(|due| due > now) {
                continue;
            }
            let queued = self.heat.queued_by(&format!("OUTBOX#{}", m.outbox_id));
            self.heat.weigh(queued.unwrap_or(Weights {
                tenant: None,
                sampled: fallback,
                tenant_rate: fallback,
            }));
            admit_shared::usecases::outbox::deliver(&self.app, &m.outbox_id)
                .await
                .expect("a delivery");
            n += 1;
        }
        n
    }

    /// Runs `call` as a request of tenant `rank`, charged with `w` (its tenant set here).
    async fn run(&mut self, rank: usize, call: &Call, w: Weights) -> u16 {
        let tenant = self.tenant(rank).await;
        let (company, app_key, token) = (
            tenant.company,
            tenant.app_key.clone(),
            tenant.admin_token.clone(),
        );
        let session = [("x-nextinteract-authtoken", token.as_str())];
        let bearer = format!("Bearer {token}");
        let bearer = [("authorization", bearer.as_str())];
        self.heat.weigh(Weights {
            tenant: Some(rank as u64),
            ..w
        });
        let (status, _) = match call {
            Call::Login(email) => {
                let body = json!({"emailAddress": email, "password": PW});
                self.call("POST", "/rest/user/login", &[], &body).await
            }
            Call::Invite(email) => {
                let body = json!({"companyId": company, "contact": {"firstname": "In",
                    "lastname": "Vitee", "email1": email}});
                self.call("POST", "/rest/user/miinvite", &session, &body)
                    .await
            }
            Call::Accept(token) => {
                let body = json!({"token": token, "password": PW});
                self.call("POST", "/rest/user/miinvite/accept", &[], &body)
                    .await
            }
            Call::Register(email) => {
                let body = json!({"version": 2, "apiKey": app_key, "emailAddress": email,
                    "password": PW, "firstName": "Re", "lastName": "Gister"});
                self.call("POST", "/rest/user/mi/selfregister", &[], &body)
                    .await
            }
            Call::Onboard(emails) => {
                let body = json!({ "EmailAddresses": emails });
                self.call("POST", "/api/users/invitations", &bearer, &body)
                    .await
            }
            Call::Report(body) => {
                self.call(
                    "POST",
                    "/api/rest/v1/management/user/activity",
                    &bearer,
                    body,
                )
                .await
            }
        };
        status
    }
}

/// `n` a second for `seconds`, scaled, with the fraction carried so the total is right.
fn per_second(rate: f64, scale: f64, seconds: usize) -> Vec<usize> {
    let mut carry = 0.0;
    (0..seconds)
        .map(|_| {
            carry += rate * scale;
            let n = carry.floor();
            carry -= n;
            n as usize
        })
        .collect()
}

/// What one phase charged (units a second at the target load), and the answers its requests
/// got.
struct Phase {
    name: String,
    heat: HashMap<Partition, Heat>,
    statuses: BTreeMap<(&'static str, u16), usize>,
    requests: BTreeMap<&'static str, usize>,
    /// Units per kind of request (and per delivery), all together: (write, read).
    cost: BTreeMap<&'static str, (f64, f64)>,
}

pub async fn heat(opts: &HeatOpts) {
    let mut b = Bench::new(0x5eed_2026).await;
    let mut phases = vec![steady(&mut b, opts).await, onboarding(&mut b, opts).await];
    phases.push(login_peak(&mut b).await);
    phases.push(report(&mut b, opts).await);
    for p in &phases {
        print_phase(p);
    }
    every_endpoint().await;
}

/// Units each endpoint's successful request costs, from one walk of every endpoint (the walk
/// the round-trip test counts), the outbox's deliveries not included.
struct Units {
    heat: Arc<HeatStore>,
    start: (f64, f64),
    seen: BTreeMap<&'static str, Vec<(f64, f64)>>,
}

impl admit_tests::walk::Watch for Units {
    fn before(&mut self, _: &admit_tests::walk::Step) {
        self.start = self.heat.raw();
    }
    fn after(&mut self, step: &admit_tests::walk::Step, _: std::time::Duration) {
        let now = self.heat.raw();
        self.seen
            .entry(step.endpoint)
            .or_default()
            .push((now.0 - self.start.0, now.1 - self.start.1));
    }
}

async fn every_endpoint() {
    let t = TestApp::new(Backend::Embedded).await;
    let (admin_key, app_key) = admit_tests::walk::company(&t).await;
    let heat = HeatStore::new(t.app.store.clone());
    heat.charging(true);
    let mut door = admit_tests::walk::InProcess {
        app: App {
            store: heat.clone(),
            ..t.app.clone()
        },
        watch: Units {
            heat,
            start: (0.0, 0.0),
            seen: BTreeMap::new(),
        },
    };
    admit_tests::walk::every_endpoint(&t, &admin_key, &app_key, &mut door).await;
    println!("\n### Each endpoint's successful request (one walk of every endpoint)\n");
    println!("| endpoint | write units | read units | a million of them (on demand) |");
    println!("|---|---|---|---|");
    for (name, calls) in &door.watch.seen {
        let n = calls.len() as f64;
        let w = calls.iter().map(|c| c.0).sum::<f64>() / n;
        let r = calls.iter().map(|c| c.1).sum::<f64>() / n;
        println!(
            "| `{name}` | {w:.1} | {r:.1} | ${:.2} |",
            w * 0.625 + r * 0.125
        );
    }
}

/// The steady peak: logins, invitations, acceptances and self-registrations of every tenant at
/// the target's rates, and the dispatcher delivering what they queue.
async fn steady(b: &mut Bench, opts: &HeatOpts) -> Phase {
    let secs = opts.seconds;
    eprintln!(
        "steady peak: preparing {secs} simulated seconds at scale {}",
        opts.scale
    );
    b.heat.charging(false);
    let mut plan: Vec<Vec<(usize, Call)>> = Vec::new();
    let rates = [LOGINS, INVITATIONS, ACCEPTANCES, REGISTRATIONS];
    let counts: Vec<Vec<usize>> = rates
        .iter()
        .map(|&r| per_second(r, opts.scale, secs))
        .collect();
    // Per second: how many of each kind.
    let seconds: Vec<Vec<usize>> = (0..secs)
        .map(|s| {
            counts
                .iter()
                .map(|c| c.get(s).copied().unwrap_or(0))
                .collect()
        })
        .collect();
    let mut to_accept: Vec<(usize, usize, String)> = Vec::new();
    for (s, this) in seconds.iter().enumerate() {
        let n = |kind: usize| this.get(kind).copied().unwrap_or(0);
        let mut second = Vec::new();
        for _ in 0..n(0) {
            let rank = b.zipf.draw(&mut b.rng);
            let (email, _) = b.member(rank).await;
            second.push((rank, Call::Login(email)));
        }
        for _ in 0..n(1) {
            let rank = b.zipf.draw(&mut b.rng);
            b.tenant(rank).await;
            let email = b.address(rank);
            second.push((rank, Call::Invite(email)));
        }
        for _ in 0..n(2) {
            let rank = b.zipf.draw(&mut b.rng);
            let email = b.address(rank);
            // Invited before the phase (uncharged); accepted in it.
            b.run(rank, &Call::Invite(email.clone()), Weights::default())
                .await;
            to_accept.push((s, rank, email));
        }
        for _ in 0..n(3) {
            let rank = b.zipf.draw(&mut b.rng);
            b.tenant(rank).await;
            let email = b.address(rank);
            second.push((rank, Call::Register(email)));
        }
        plan.push(second);
    }
    b.deliver(1.0).await;
    let mail = b.t.mail();
    for (s, rank, email) in to_accept {
        let token = mail
            .iter()
            .rev()
            .filter(|m| m.to == email)
            .find_map(|m| admit_tests::link_token(&m.text, "accept?token="))
            .expect("an invitation's link");
        plan[s].push((rank, Call::Accept(token)));
    }
    // How many requests of each kind each tenant runs: its own keys are charged at its
    // expected rate of them, each run request standing for its share.
    let mut runs: HashMap<(usize, &'static str), usize> = HashMap::new();
    for (rank, call) in plan.iter().flatten() {
        *runs.entry((*rank, call.kind())).or_default() += 1;
    }
    let sampled = 1.0 / (opts.scale * secs as f64);
    let shares = b.zipf.share.clone();
    let weights = |rank: usize, call: &Call| {
        let rate = match call {
            Call::Login(_) => LOGINS,
            Call::Invite(_) => INVITATIONS,
            Call::Accept(_) => ACCEPTANCES,
            _ => REGISTRATIONS,
        };
        let share = shares[rank - 1];
        Weights {
            tenant: Some(rank as u64),
            sampled,
            tenant_rate: rate * share / runs[&(rank, call.kind())] as f64,
        }
    };
    for second in &mut plan {
        // Interleave the kinds, as they arrive.
        for i in (1..second.len()).rev() {
            let j = b.rng.below(i as u64 + 1) as usize;
            second.swap(i, j);
        }
    }
    b.heat.take();
    b.heat.charging(true);
    let mut phase = Phase {
        name: format!(
            "Steady peak: {LOGINS} logins, {INVITATIONS} invitations, {ACCEPTANCES} \
             acceptances and {REGISTRATIONS} self-registrations a second (sampled at {}, {secs} \
             simulated seconds)",
            opts.scale
        ),
        heat: HashMap::new(),
        statuses: BTreeMap::new(),
        requests: BTreeMap::new(),
        cost: BTreeMap::new(),
    };
    for (s, second) in plan.into_iter().enumerate() {
        eprintln!("steady peak: second {} of {secs}", s + 1);
        for (rank, call) in second {
            let w = weights(rank, &call);
            let before = b.heat.raw();
            let status = b.run(rank, &call, w).await;
            let after = b.heat.raw();
            let cost = phase.cost.entry(call.kind()).or_default();
            cost.0 += after.0 - before.0;
            cost.1 += after.1 - before.1;
            *phase.statuses.entry((call.kind(), status)).or_default() += 1;
            *phase.requests.entry(call.kind()).or_default() += 1;
        }
        let before = b.heat.raw();
        let sent = b.deliver(sampled).await;
        let after = b.heat.raw();
        let cost = phase.cost.entry("delivery of one message").or_default();
        cost.0 += after.0 - before.0;
        cost.1 += after.1 - before.1;
        *phase.requests.entry("delivery of one message").or_default() += sent;
        b.t.clock.advance(chrono::Duration::seconds(1));
    }
    b.heat.charging(false);
    phase.heat = b.heat.take();
    phase
}

/// The largest tenant inviting 100,000 people in an hour (ten addresses a request), and the
/// dispatcher sending them, at full scale.
async fn onboarding(b: &mut Bench, opts: &HeatOpts) -> Phase {
    let secs = opts.seconds;
    eprintln!("onboarding: {secs} simulated seconds");
    b.heat.charging(false);
    let company = b.tenant(1).await.company;
    // The operator raises this customer's hourly allowance for its onboarding (its own
    // setting over the stage's default).
    let company = admit_shared::domain::Id::new(company).expect("an id");
    provision::set_setting(&b.app, company, "senderPerHour", "100000")
        .await
        .expect("the company's limit raised");
    b.deliver(1.0).await;
    b.heat.take();
    let each = 1.0 / secs as f64;
    let w = Weights {
        tenant: Some(1),
        sampled: each,
        tenant_rate: each,
    };
    let mut phase = Phase {
        name: format!(
            "Bulk onboarding: the largest tenant invites 100,000 people in an hour, ten a \
             request ({secs} simulated seconds)"
        ),
        heat: HashMap::new(),
        statuses: BTreeMap::new(),
        requests: BTreeMap::new(),
        cost: BTreeMap::new(),
    };
    b.heat.charging(true);
    for n in per_second(ONBOARDING_PER_SECOND / ONBOARDING_BATCH as f64, 1.0, secs) {
        for _ in 0..n {
            let emails: Vec<String> = (0..ONBOARDING_BATCH).map(|_| b.address(1)).collect();
            let call = Call::Onboard(emails);
            let status = b.run(1, &call, w).await;
            *phase.statuses.entry((call.kind(), status)).or_default() += 1;
            *phase.requests.entry(call.kind()).or_default() += 1;
        }
        b.deliver(each).await;
        b.t.clock.advance(chrono::Duration::seconds(1));
    }
    b.heat.charging(false);
    phase.heat = b.heat.take();
    phase
}

/// One tenant's login peak: the largest tenant's people signing in at 1,000 a second (its
/// 500,000 in about eight minutes), 50 logins run, each standing for a fiftieth of a second's.
async fn login_peak(b: &mut Bench) -> Phase {
    const RATE: f64 = 1_000.0;
    const RUN: usize = 50;
    eprintln!("login peak: preparing {RUN} members");
    b.heat.charging(false);
    let mut people = Vec::new();
    for _ in 0..RUN {
        people.push(b.member(1).await.0);
    }
    b.deliver(1.0).await;
    b.heat.take();
    let w = Weights {
        tenant: Some(1),
        sampled: RATE / RUN as f64,
        tenant_rate: RATE / RUN as f64,
    };
    let mut phase = Phase {
        name: format!(
            "One tenant's login peak: the largest tenant's people sign in at {RATE} a second"
        ),
        heat: HashMap::new(),
        statuses: BTreeMap::new(),
        requests: BTreeMap::new(),
        cost: BTreeMap::new(),
    };
    b.heat.charging(true);
    for email in people {
        let call = Call::Login(email);
        let status = b.run(1, &call, w).await;
        *phase.statuses.entry((call.kind(), status)).or_default() += 1;
        *phase.requests.entry(call.kind()).or_default() += 1;
    }
    b.deliver(RATE / RUN as f64).await;
    b.heat.charging(false);
    phase.heat = b.heat.take();
    phase
}

/// The largest tenant's activity report: `report_entries` entries over the last 30 days, read
/// page 1, a page deep in the range, and for ten people, ten reports a second.
async fn report(b: &mut Bench, opts: &HeatOpts) -> Phase {
    use admit_shared::domain::Id;
    eprintln!("report: seeding {} entries", opts.report_entries);
    b.heat.charging(false);
    let company = Id::new(b.tenant(1).await.company).expect("an id");
    let mut people = Vec::new();
    for _ in 0..20 {
        people.push(b.member(1).await.1);
    }
    let now = b.t.clock.now();
    let n = opts.report_entries;
    let times: Vec<_> = (0..n)
        .map(|i| now - chrono::Duration::seconds((i as i64 * 2_592_000) / n as i64))
        .collect();
    let ids: Vec<Id> = people.iter().filter_map(|&p| Id::new(p).ok()).collect();
    admit_tests::seed_logins(b.t.app.store.as_ref(), company, &ids, &times).await;
    b.heat.take();
    let from = (now - chrono::Duration::days(30)).to_rfc3339();
    let to = now.to_rfc3339();
    let bodies = [
        json!({"userIds": [], "dateFrom": from, "dateTo": to, "pageSize": 100}),
        json!({"userIds": [], "dateFrom": from, "dateTo": to, "page": 50, "pageSize": 100}),
        json!({"userIds": people.iter().take(10).collect::<Vec<_>>(), "dateFrom": from,
            "dateTo": to, "pageSize": 100}),
    ];
    let secs = opts.seconds.min(5);
    let mut phase = Phase {
        name: format!(
            "Activity report: the largest tenant's report over 30 days holding {} entries, ten \
             a second (page 1, page 50, ten people's) ({secs} simulated seconds)",
            opts.report_entries
        ),
        heat: HashMap::new(),
        statuses: BTreeMap::new(),
        requests: BTreeMap::new(),
        cost: BTreeMap::new(),
    };
    let mut units: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for s in 0..secs * 10 {
        let body = bodies[s % bodies.len()].clone();
        b.heat.take();
        b.heat.charging(true);
        let call = Call::Report(body.clone());
        let status = b.run(1, &call, Weights::default()).await;
        b.heat.charging(false);
        let one = b.heat.take();
        let read: f64 = one.values().map(|h| h.sampled.1).sum();
        let whose = if body["userIds"].as_array().is_some_and(|a| !a.is_empty()) {
            ", ten people's"
        } else {
            ""
        };
        let page = body["page"].as_u64().unwrap_or(1);
        units
            .entry(format!("page {page}{whose}"))
            .or_default()
            .push(read);
        for (p, h) in one {
            let e = phase.heat.entry(p).or_default();
            for (to, from) in [
                (&mut e.sampled, h.sampled),
                (&mut e.tenant_rate, h.tenant_rate),
            ] {
                to.0 += from.0 / secs as f64;
                to.1 += from.1 / secs as f64;
            }
            e.tenants.extend(h.tenants);
        }
        *phase.statuses.entry((call.kind(), status)).or_default() += 1;
        *phase.requests.entry(call.kind()).or_default() += 1;
    }
    for (what, v) in units {
        let avg = v.iter().sum::<f64>() / v.len() as f64;
        phase
            .name
            .push_str(&format!("\n- {what}: {avg:.1} read units a report"));
    }
    phase
}

fn print_phase(p: &Phase) {
    println!("\n### {}\n", p.name);
    let answers: Vec<String> = p
        .statuses
        .iter()
        .map(|((kind, status), n)| format!("{kind} {status}: {n}"))
        .collect();
    println!("Answers: {}.\n", answers.join(", "));
    if !p.cost.is_empty() {
        println!("| each | write units | read units | cost a million (on demand) |");
        println!("|---|---|---|---|");
        for (kind, (w, r)) in &p.cost {
            let n = p.requests.get(kind).copied().unwrap_or(0).max(1) as f64;
            let (w, r) = (w / n, r / n);
            // On-demand prices (us-east-1): $0.625 a million write request units, $0.125 a
            // million read request units.
            println!(
                "| {kind} | {w:.1} | {r:.1} | ${:.2} |",
                w * 0.625 + r * 0.125
            );
        }
        println!();
    }
    let t = totals(&p.heat);
    for (index, (w, r)) in &t {
        println!(
            "- {index}: {:.0} write units and {:.0} read units a second in all",
            w, r
        );
    }
    let mut worst = (0.0f64, 0.0f64);
    for index in ["table", "gsi1", "gsi2"] {
        let hot = hottest(&p.heat, index, 20);
        if hot.is_empty() {
            continue;
        }
        println!("\n| {index} partition | write units/s | read units/s | tenants |");
        println!("|---|---|---|---|");
        for (part, h) in hot {
            let (w, r) = h.units();
            worst = (worst.0.max(w), worst.1.max(r));
            println!(
                "| `{}` | {w:.0} | {r:.0} | {} |",
                shorten(&part.key),
                h.tenants.len()
            );
        }
    }
    println!(
        "\nHottest partition: {:.0} write units/s, {:.0} read units/s ({} the ceiling of \
         {WRITE_CEILING} and {READ_CEILING}).",
        worst.0,
        worst.1,
        if worst.0 > WRITE_CEILING || worst.1 > READ_CEILING {
            "OVER"
        } else {
            "within"
        }
    );
}

/// A key with its hashes cut short, for the table.
fn shorten(key: &str) -> String {
    key.split('#')
        .map(|part| {
            if part.len() == 64 && part.bytes().all(|c| c.is_ascii_hexdigit()) {
                format!("{}…", &part[..8])
            } else {
                part.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("#")
}
